//! Open connections per client address, capped at `max_connections_per_ip`, and the address
//! that per-address limits count: an IPv4 address, or an IPv6 address's prefix (a client
//! owns a whole /64, so counting full IPv6 addresses would give it 2^64 budgets).

use crate::ops::config::Limits;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// The address per-address limits count `ip` as: IPv4 as it is (also when mapped into IPv6),
/// IPv6 cut to its first `ipv6_prefix_len` bits (at most 128).
pub(crate) fn address_key(ip: IpAddr, ipv6_prefix_len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u32::from(ipv6_prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

/// The address key per-address limits count a peer at `ip` under, or `None` when the peer is
/// exempt (loopback, unless `limit_loopback_per_ip`).
pub(crate) fn limited_address(ip: IpAddr, limits: &Limits) -> Option<IpAddr> {
    // A server bound to [::] sees IPv4 peers as IPv4-mapped addresses.
    let exempt = ip.to_canonical().is_loopback() && !limits.limit_loopback_per_ip;
    (!exempt).then(|| address_key(ip, limits.ipv6_prefix_len))
}

/// Counts of open connections by address key (see [`address_key`]).
#[derive(Debug, Default)]
pub(crate) struct PerIp {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection's place in the count; freed on drop.
#[derive(Debug)]
pub(crate) struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// A slot for a new connection from `ip`, or `None` when it already has `max` open.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            per_ip: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .per_ip
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_prefix_and_mapped_ipv4_as_ipv4() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("an address");
        let a = address_key(ip("2001:db8:1:2:aaaa::1"), 64);
        assert_eq!(a, ip("2001:db8:1:2::"));
        assert_eq!(
            address_key(ip("2001:db8:1:2:ffff:1:2:3"), 64),
            a,
            "same /64"
        );
        assert_ne!(address_key(ip("2001:db8:1:3::1"), 64), a, "another /64");
        assert_eq!(address_key(ip("2001:db8:1:3::1"), 48), ip("2001:db8:1::"));
        assert_eq!(address_key(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(address_key(ip("2001:db8::1"), 0), ip("::"));
        assert_eq!(address_key(ip("2001:db8::1"), 200), ip("2001:db8::1"));
        assert_eq!(address_key(ip("::ffff:10.1.2.3"), 64), ip("10.1.2.3"));
        assert_eq!(address_key(ip("10.1.2.3"), 64), ip("10.1.2.3"));
    }

    #[test]
    fn loopback_peers_are_exempt_also_when_mapped_into_ipv6() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("an address");
        let limits = Limits::default();
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(limited_address(ip(local), &limits), None, "{local}");
        }
        assert_eq!(
            limited_address(ip("::ffff:10.0.0.1"), &limits),
            Some(ip("10.0.0.1"))
        );
        let strict = Limits {
            limit_loopback_per_ip: true,
            ..Limits::default()
        };
        assert_eq!(
            limited_address(ip("::ffff:127.0.0.1"), &strict),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn an_address_gets_at_most_max_slots_and_dropping_one_frees_it() {
        let per_ip = Arc::new(PerIp::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = per_ip.try_acquire(a, 2).expect("first");
        let _second = per_ip.try_acquire(a, 2).expect("second");
        assert!(
            per_ip.try_acquire(a, 2).is_none(),
            "third from the same address"
        );
        assert!(
            per_ip.try_acquire(b, 2).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            per_ip.try_acquire(a, 2).is_some(),
            "a freed slot is reusable"
        );
    }
}
