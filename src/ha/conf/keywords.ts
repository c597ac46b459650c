// Keywords the VRRP side (src/ha/vrrp, the ha-vrrp helper's) understands, so that the
// checkers' keyword table does not warn about them. ha-vrrp owns and fills these sets.

/** Top-level blocks whose whole content VRRP interprets (and warns about itself). */
export const VRRP_TOP_BLOCKS: ReadonlySet<string> = new Set([
  'vrrp_instance',
  'vrrp_sync_group',
  'vrrp_script',
  'static_ipaddress',
  'static_routes',
  'static_rules',
]);

/** `global_defs` keys VRRP interprets (docs/spec/ha.md §A.7, §A.6). */
export const VRRP_GLOBAL_KEYS: ReadonlySet<string> = new Set([
  'router_id',
  'vrrp_version',
  'vrrp_garp_master_delay',
  'vrrp_garp_master_repeat',
  'vrrp_garp_master_refresh',
  'vrrp_garp_master_refresh_repeat',
  'vrrp_garp_lower_prio_delay',
  'vrrp_garp_lower_prio_repeat',
  'vrrp_garp_interval',
  'vrrp_gna_interval',
  'vrrp_min_garp',
  'vrrp_mcast_group4',
  'vrrp_mcast_group6',
  'vrrp_strict',
  'vrrp_skip_check_adv_addr',
  'vrrp_check_unicast_src',
  'vrrp_iptables',
  'vrrp_notify_fifo',
  'vrrp_notify_fifo_script',
  'vrrp_priority',
  'vrrp_no_swap',
  'vrrp_rt_priority',
  'vrrp_startup_delay',
  'vrrp_higher_prio_send_advert',
  'vrrp_lower_prio_no_advert',
  'v3_checksum_as_v2',
  'vrrp_checksum_as_v2',
]);
