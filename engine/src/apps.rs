//! Names for the common long-lived protocols that are not mining, from the first bytes of
//! either direction: a connection the engine can name is not "an unreadable payload", and
//! the behavioural model does not judge it (an MQTT keepalive or an SSH session moves like
//! stratum often enough to matter at province scale).
//!
//! Each check is the protocol's fixed opening (RFC or specification cited), so a random
//! byte string matches one only by a chance of 2^-32 or less.

/// Classify the first bytes of one direction (0: client to server, 1: server to client).
pub fn classify(head: &[u8], dir: usize) -> Option<&'static str> {
    // RFC 4253 4.2: both sides open with "SSH-protoversion-softwareversion".
    if head.starts_with(b"SSH-") {
        return Some("ssh");
    }
    if dir == 0 {
        client_first(head)
    } else {
        server_first(head)
    }
}

fn client_first(head: &[u8]) -> Option<&'static str> {
    if is_mqtt_connect(head) {
        return Some("mqtt");
    }
    // XMPP (RFC 6120 4.2): the client opens a stream, usually after an XML declaration.
    if (head.starts_with(b"<?xml") || head.starts_with(b"<stream:stream"))
        && contains(head, b"jabber:")
    {
        return Some("xmpp");
    }
    // RDP: a TPKT header (version 3) around an X.224 Connection Request (0xE0), [MS-RDPBCGR] 2.2.1.1.
    if head.len() >= 11 && head[0] == 3 && head[1] == 0 && head[5] == 0xE0 {
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if len >= 11 && usize::from(head[4]) + 5 == len {
            return Some("rdp");
        }
    }
    // PostgreSQL (protocol docs, 55.2.1): an SSLRequest, a GSSENCRequest or a version 3.0
    // StartupMessage, each behind its own length.
    if head.len() >= 8 {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let request = len == 8 && (code == 80_877_103 || code == 80_877_104);
        if request || (code == 0x0003_0000 && (9..=10_000).contains(&len)) {
            return Some("postgresql");
        }
    }
    // Redis (RESP): a command is an array of bulk strings, "*<n>\r\n$<len>\r\n".
    if head.len() >= 6 && head[0] == b'*' {
        let digits = head[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let rest = &head[1 + digits..];
        if (1..=3).contains(&digits) && rest.starts_with(b"\r\n$") {
            return Some("redis");
        }
    }
    None
}

fn server_first(head: &[u8]) -> Option<&'static str> {
    // IMAP (RFC 9051 7.1): the greeting is an untagged OK, PREAUTH or BYE naming IMAP.
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    if (line.starts_with(b"* OK") || line.starts_with(b"* PREAUTH")) && contains(line, b"IMAP") {
        return Some("imap");
    }
    // POP3 (RFC 1939 4): "+OK" and a greeting.
    if line.starts_with(b"+OK ") && line.ends_with(b"\r") {
        return Some("pop3");
    }
    // SMTP (RFC 5321 4.2): the greeting is a 220 reply naming (E)SMTP.
    if line.starts_with(b"220") && (contains(line, b"SMTP") || contains(line, b"ESMTP")) {
        return Some("smtp");
    }
    if head.starts_with(b"<?xml") && contains(head, b"jabber:") {
        return Some("xmpp");
    }
    None
}

/// MQTT CONNECT (MQTT 3.1.1 3.1, 5.0 3.1): packet type 1, a variable-length remaining
/// length, then the protocol name "MQTT" (or 3.1's "MQIsdp") behind its 2-byte length.
fn is_mqtt_connect(head: &[u8]) -> bool {
    if head.first() != Some(&0x10) {
        return false;
    }
    let length_bytes = head[1..]
        .iter()
        .take(4)
        .take_while(|b| **b & 0x80 != 0)
        .count()
        + 1;
    let name = &head[(1 + length_bytes).min(head.len())..];
    name.starts_with(b"\x00\x04MQTT") || name.starts_with(b"\x00\x06MQIsdp")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_openings() {
        let cases: &[(&[u8], usize, Option<&str>)] = &[
            (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 0, Some("ssh")),
            (b"SSH-2.0-OpenSSH_9.2p1\r\n", 1, Some("ssh")),
            (
                b"\x10\x1a\x00\x04MQTT\x04\x02\x00\x3c\x00\x0eclient",
                0,
                Some("mqtt"),
            ),
            (b"\x10\x82\x01\x00\x04MQTT\x05", 0, Some("mqtt")),
            (
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' to='example.org'",
                0,
                Some("xmpp"),
            ),
            (
                b"* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.\r\n",
                1,
                Some("imap"),
            ),
            (b"+OK Dovecot ready.\r\n", 1, Some("pop3")),
            (b"220 mail.example.org ESMTP Postfix\r\n", 1, Some("smtp")),
            (
                b"\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00",
                0,
                Some("rdp"),
            ),
            (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", 0, Some("postgresql")),
            (
                b"\x00\x00\x00\x29\x00\x03\x00\x00user\x00postgres\x00",
                0,
                Some("postgresql"),
            ),
            (b"*2\r\n$9\r\nSUBSCRIBE\r\n", 0, Some("redis")),
            // Not these protocols: stratum, JSON, random bytes, a server's JSON.
            (b"{\"id\":1,\"method\":\"mining.subscribe\"}\n", 0, None),
            (b"\x10\x00\x00\x00\x00\x00", 0, None),
            (b"* OK\r\n", 1, None),
            (b"\x17\x03\x03\x00\x20abcdefgh", 0, None),
            (b"*not resp", 0, None),
        ];
        for (head, dir, want) in cases {
            assert_eq!(classify(head, *dir), *want, "{head:?}");
        }
    }
}
