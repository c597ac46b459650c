// `tsvsadm`: the ipvsadm drop-in. Not built yet in this version.
process.stderr.write('tsvsadm: not built yet in this version\n');
process.exitCode = 2;
