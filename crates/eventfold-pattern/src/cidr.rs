//! `cidr` operands: an IPv4 or IPv6 block such as `10.0.0.0/24` or `2001:db8::/32`.
//!
//! The address and the prefix length are parsed with `std::net`, strictly: dotted-quad IPv4
//! without leading zeros, IPv6 in any of its standard forms (`::` compression, upper or lower
//! case hex, a trailing dotted quad), no zone (`%eth0`), no brackets, no spaces. The prefix
//! length is decimal digits, at most 32 for IPv4 and 128 for IPv6.
//!
//! Host bits set after the prefix (`10.0.0.5/24`) are accepted and masked off: the block is
//! the whole `10.0.0.0/24`. (aws/event-ruler accepts them too but starts its range at the
//! address given, so there `10.0.0.1` would not match `10.0.0.5/24`; write the network
//! address to mean the same thing in both.)
//!
//! A value matches if it is a string holding an address of the block's family inside the
//! block. An IPv4 block never matches an IPv6 address, an IPv4-mapped one (`::ffff:10.0.0.1`)
//! included, and an IPv6 block never matches an IPv4 address.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::PatternErrorKind;

/// The longest text of an IP address: IPv6 with a trailing dotted quad,
/// `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. Longer values are not parsed at all.
const ADDRESS_BYTES_MAX: usize = 45;

/// A compiled `cidr` operand: the network address (host bits cleared) and its mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { network: u32, mask: u32 },
    V6 { network: u128, mask: u128 },
}

impl Cidr {
    /// Compiles `operand`, such as `10.0.0.0/24`.
    pub(crate) fn compile(operand: &str) -> Result<Self, PatternErrorKind> {
        let invalid = |reason| Err(PatternErrorKind::InvalidCidr { reason });
        let Some((address, length)) = operand.split_once('/') else {
            return invalid("expected an address, `/` and a prefix length, such as 10.0.0.0/24");
        };
        if length.is_empty() || !length.bytes().all(|b| b.is_ascii_digit()) {
            return invalid("the prefix length after `/` must be a decimal number");
        }
        // Digits only, so a failed parse means a number too large for any prefix.
        let length: u32 = length.parse().unwrap_or(u32::MAX);
        if let Ok(address) = address.parse::<Ipv4Addr>() {
            if length > 32 {
                return invalid("an IPv4 prefix length is at most 32");
            }
            let mask = u32::MAX.checked_shl(32 - length).unwrap_or(0);
            return Ok(Self::V4 {
                network: u32::from(address) & mask,
                mask,
            });
        }
        if let Ok(address) = address.parse::<Ipv6Addr>() {
            if length > 128 {
                return invalid("an IPv6 prefix length is at most 128");
            }
            let mask = u128::MAX.checked_shl(128 - length).unwrap_or(0);
            return Ok(Self::V6 {
                network: u128::from(address) & mask,
                mask,
            });
        }
        invalid("the part before `/` is not an IPv4 or IPv6 address")
    }

    /// Whether `value` is an address inside the block.
    pub(crate) fn contains(&self, value: &str) -> bool {
        if value.len() > ADDRESS_BYTES_MAX {
            return false;
        }
        match *self {
            Self::V4 { network, mask } => value
                .parse::<Ipv4Addr>()
                .is_ok_and(|address| u32::from(address) & mask == network),
            Self::V6 { network, mask } => value
                .parse::<Ipv6Addr>()
                .is_ok_and(|address| u128::from(address) & mask == network),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(operand: &str) -> Cidr {
        Cidr::compile(operand).unwrap_or_else(|error| panic!("{operand}: {error}"))
    }

    #[test]
    fn masks_and_networks() {
        assert_eq!(
            cidr("10.0.0.0/24"),
            Cidr::V4 {
                network: 0x0a00_0000,
                mask: 0xffff_ff00
            }
        );
        assert_eq!(
            cidr("10.1.2.3/0"),
            Cidr::V4 {
                network: 0,
                mask: 0
            }
        );
        assert_eq!(
            cidr("10.1.2.3/32"),
            Cidr::V4 {
                network: 0x0a01_0203,
                mask: u32::MAX
            }
        );
        assert_eq!(cidr("10.0.0.5/24"), cidr("10.0.0.0/24"));
        assert_eq!(
            cidr("::1/0"),
            Cidr::V6 {
                network: 0,
                mask: 0
            }
        );
        assert_eq!(cidr("2001:db8::1/32"), cidr("2001:DB8::/32"));
        assert_eq!(
            cidr("::1/128"),
            Cidr::V6 {
                network: 1,
                mask: u128::MAX
            }
        );
        assert_eq!(cidr("10.0.0.0/024"), cidr("10.0.0.0/24"));
    }

    #[test]
    fn bad_operands_are_refused() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "/24",
            "10.0.0.0/24/1",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/ 8",
            "10.0.0.0/8 ",
            " 10.0.0.0/8",
            "10.0.0.0/33",
            "10.0.0.0/99999999999999999999",
            "2001:db8::/129",
            "10.0.0/8",
            "010.0.0.0/8",
            "256.0.0.0/8",
            "fe80::1%eth0/64",
            "[::1]/128",
            "host.example/8",
            "",
        ] {
            assert!(
                matches!(
                    Cidr::compile(bad),
                    Err(PatternErrorKind::InvalidCidr { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn long_values_are_not_addresses() {
        let block = cidr("::/0");
        assert!(block.contains("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"));
        assert!(!block.contains(&"0".repeat(ADDRESS_BYTES_MAX + 1)));
        assert!(!block.contains(&format!("::{}", "1".repeat(1 << 20))));
    }
}
