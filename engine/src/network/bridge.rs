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

//!
//! A user network's bridge (`cas-<id8>`, see [`super::networks`]) is the
//! same thing with its own subnet: made by `casulo network create` (and
//! again by a run that finds it missing), deleted by `casulo network rm`.

use super::networks::Network;
use super::NetworkError;
use crate::kernel::Kernel;

/// Makes sure the bridge of `network` exists, has its address and is up.
/// The caller holds the host's network lock (two casulos never create it
/// at once).
pub fn ensure(k: &Kernel, network: &Network) -> Result<(), NetworkError> {
    let name = network.bridge.as_str();
    let address = network.gateway_cidr();
    match k.link_index(name) {
        Some(index) => {
            k.net_bridge_found(name, &address, index);
            if !is_up(k, name) {
                k.net_link_up(name)?;
            }
            if k.link_ipv4(name) != Some(network.gateway) {
                k.net_addr_shared(name, network.gateway, network.prefix)?;
            }
        }
        None => {
            k.net_bridge_create(name, &address)?;
            k.net_addr(name, network.gateway, network.prefix, false)?;
            k.net_link_up(name)?;
        }
    }
    Ok(())
}

/// IFF_UP in `/sys/class/net/<bridge>/flags` (hex, like `0x1003`).
fn is_up(k: &Kernel, bridge: &str) -> bool {
    k.read_file(std::path::Path::new(&format!(
        "/sys/class/net/{bridge}/flags"
    )))
    .ok()
    .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
    .is_some_and(|flags| flags & 1 != 0)
}
