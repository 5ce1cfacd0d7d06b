//! The bridge `casulo0`: a virtual switch on the host, like `docker0`.
//!
//! Created by the first `casulo run --network bridge` (`RTM_NEWLINK
//! casulo0 type bridge`), given the gateway address `10.88.0.1/16`
//! (`RTM_NEWADDR`, which also gives the host the route to 10.88.0.0/16)
//! and brought up; every later run finds it (`net.bridge` with `created:
//! false`) and only makes sure it is up and has its address. It stays when
//! the containers end, as `docker0` does, until `casulo gc` finds it unused
//! (no address leased, nothing plugged in) and deletes it
//! ([`super::gc`]); the next run creates it again.

use super::{NetworkError, BRIDGE, GATEWAY, PREFIX};
use crate::kernel::Kernel;

/// The bridge's address as the trace shows it: `10.88.0.1/16`.
pub fn address() -> String {
    format!("{GATEWAY}/{PREFIX}")
}

/// Makes sure `casulo0` exists, has its address and is up. The caller
/// holds the host's network lock (two casulos never create it at once).
pub fn ensure(k: &Kernel) -> Result<(), NetworkError> {
    match k.link_index(BRIDGE) {
        Some(index) => {
            k.net_bridge_found(BRIDGE, &address(), index);
            if !is_up(k) {
                k.net_link_up(BRIDGE)?;
            }
            if k.link_ipv4(BRIDGE) != Some(GATEWAY) {
                k.net_addr_shared(BRIDGE, GATEWAY, PREFIX)?;
            }
        }
        None => {
            k.net_bridge_create(BRIDGE, &address())?;
            k.net_addr(BRIDGE, GATEWAY, PREFIX, false)?;
            k.net_link_up(BRIDGE)?;
        }
    }
    Ok(())
}

/// IFF_UP in `/sys/class/net/casulo0/flags` (hex, like `0x1003`).
fn is_up(k: &Kernel) -> bool {
    k.read_file(std::path::Path::new(&format!(
        "/sys/class/net/{BRIDGE}/flags"
    )))
    .ok()
    .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
    .is_some_and(|flags| flags & 1 != 0)
}
