//! Recognition of cryptocurrency peer-to-peer protocols from the first bytes of a stream.

/// Bitcoin-family network magics (first four bytes of every P2P message), with the
/// chain they belong to (bitcoin/bitcoin kernel/chainparams.cpp and forks).
const MAGICS: &[([u8; 4], &str)] = &[
    ([0xf9, 0xbe, 0xb4, 0xd9], "bitcoin-p2p"),
    ([0x0b, 0x11, 0x09, 0x07], "bitcoin-p2p"), // testnet3
    ([0x1c, 0x16, 0x3f, 0x28], "bitcoin-p2p"), // testnet4
    ([0x0a, 0x03, 0xcf, 0x40], "bitcoin-p2p"), // signet
    ([0xfa, 0xbf, 0xb5, 0xda], "bitcoin-p2p"), // regtest
    ([0xe3, 0xe1, 0xf3, 0xe8], "bitcoin-p2p"), // Bitcoin Cash
    ([0xfb, 0xc0, 0xb6, 0xdb], "litecoin-p2p"),
    ([0xc0, 0xc0, 0xc0, 0xc0], "dogecoin-p2p"),
];

/// Monero's levin header signature, 0x0101010101012101 little-endian
/// (monero-project/monero contrib/epee/include/net/levin_base.h).
const LEVIN: [u8; 8] = [0x01, 0x21, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01];

/// Classify the first bytes of one direction of a TCP stream.
pub fn classify_tcp(head: &[u8], server_port: u16) -> Option<&'static str> {
    if head.len() >= 16 {
        for (magic, name) in MAGICS {
            // After the magic: a 12-byte NUL-padded ASCII command such as "version".
            let cmd = &head[4..16];
            let ascii = cmd
                .iter()
                .take_while(|b| **b != 0)
                .all(|b| b.is_ascii_lowercase())
                && cmd[0].is_ascii_lowercase();
            if head[..4] == *magic && ascii {
                return Some(name);
            }
        }
    }
    if head.len() >= 8 && head[..8] == LEVIN {
        return Some("monero-p2p");
    }
    // Ethereum RLPx (devp2p): the EIP-8 auth message is a 2-byte big-endian size, then an
    // ECIES ciphertext starting with an uncompressed secp256k1 point (0x04). The rest is
    // encrypted, so the default port is needed as well to call it.
    if server_port == 30303 && head.len() >= 67 && head[2] == 0x04 {
        let size = u16::from_be_bytes([head[0], head[1]]) as usize;
        if (150..=2048).contains(&size) {
            return Some("ethereum-p2p");
        }
    }
    None
}

/// Ethereum discovery v4/v5 over UDP: v4 packets are hash(32) || signature(65) || type ||
/// RLP and use port 30303; we check size and port, as the hash is over the rest.
pub fn classify_udp(payload: &[u8], sport: u16, dport: u16) -> Option<&'static str> {
    if (sport == 30303 || dport == 30303) && payload.len() >= 98 && (1..=6).contains(&payload[97]) {
        return Some("ethereum-p2p");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_version_message() {
        let mut m = vec![0xf9, 0xbe, 0xb4, 0xd9];
        m.extend_from_slice(b"version\0\0\0\0\0");
        m.extend_from_slice(&[0; 8]);
        assert_eq!(classify_tcp(&m, 8333), Some("bitcoin-p2p"));
        assert_eq!(classify_tcp(&m[..10], 8333), None);
    }

    #[test]
    fn json_is_not_p2p() {
        assert_eq!(
            classify_tcp(b"{\"id\":1,\"method\":\"mining.subscribe\"}", 3333),
            None
        );
    }
}
