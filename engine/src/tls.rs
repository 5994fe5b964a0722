//! TLS ClientHello: server name, ALPN, JA3 and JA4 fingerprints.
//!
//! The record and handshake structure is parsed by tls-parser; the fingerprints follow
//! the published definitions (JA3: salesforce/ja3; JA4: FoxIO-LLC/ja4 technical details).

use md5::{Digest as _, Md5};
use sha2::Sha256;
use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_plaintext, TlsExtension, TlsExtensionType,
    TlsMessage, TlsMessageHandshake,
};

/// What a ClientHello tells about the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub sni: Option<String>,
    pub alpn: Option<String>,
    pub ja3: String,
    pub ja4: String,
}

/// The outcome of trying to read a ClientHello from the start of a client stream.
#[derive(Debug, PartialEq, Eq)]
pub enum HelloParse {
    Done(ClientHello),
    /// The record is longer than what we have: wait for more bytes.
    NeedMore,
    NotHello,
}

fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// True if `buf` starts like a TLS handshake record.
pub fn looks_like_tls(buf: &[u8]) -> bool {
    buf.len() >= 3 && buf[0] == 0x16 && buf[1] == 0x03 && buf[2] <= 0x04
}

/// Parse a ClientHello from the first bytes of a TCP client stream.
pub fn parse_client_hello(buf: &[u8]) -> HelloParse {
    if !looks_like_tls(buf) {
        return HelloParse::NotHello;
    }
    if buf.len() < 5 {
        return HelloParse::NeedMore;
    }
    let rec_len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
    if buf.len() < 5 + rec_len {
        return HelloParse::NeedMore;
    }
    let record = match parse_tls_plaintext(&buf[..5 + rec_len]) {
        Ok((_, r)) => r,
        Err(_) => return HelloParse::NotHello,
    };
    for msg in &record.msg {
        if let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = msg {
            let ciphers: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
            let exts = match ch.ext {
                Some(raw) => parse_tls_client_hello_extensions(raw)
                    .map(|(_, e)| e)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            return HelloParse::Done(fingerprint(ch.version.0, &ciphers, &exts));
        }
    }
    HelloParse::NotHello
}

fn ext_type(e: &TlsExtension) -> u16 {
    match e {
        TlsExtension::Grease(t, _) => *t,
        TlsExtension::Unknown(t, _) => t.0,
        other => TlsExtensionType::from(other).0,
    }
}

fn join_dec(v: &[u16]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

fn join_hex(v: &[u16]) -> String {
    v.iter()
        .map(|x| format!("{x:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn sha12(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn tls_version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn alpn_code(alpn: Option<&[u8]>) -> String {
    let Some(a) = alpn.filter(|a| !a.is_empty()) else {
        return "00".into();
    };
    let (first, last) = (a[0], a[a.len() - 1]);
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        format!("{}{}", first as char, last as char)
    } else {
        let hex = a.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let hb = hex.as_bytes();
        format!("{}{}", hb[0] as char, hb[hb.len() - 1] as char)
    }
}

fn fingerprint(legacy_version: u16, ciphers: &[u16], exts: &[TlsExtension]) -> ClientHello {
    let ciphers: Vec<u16> = ciphers.iter().copied().filter(|c| !is_grease(*c)).collect();
    let types: Vec<u16> = exts
        .iter()
        .map(ext_type)
        .filter(|t| !is_grease(*t))
        .collect();
    let mut out = ClientHello::default();
    let mut groups = Vec::new();
    let mut point_formats = Vec::new();
    let mut sigalgs = Vec::new();
    let mut versions = Vec::new();
    let mut alpn_first: Option<&[u8]> = None;
    for e in exts {
        match e {
            TlsExtension::SNI(names) => {
                out.sni = names
                    .first()
                    .map(|(_, n)| String::from_utf8_lossy(n).into_owned());
            }
            TlsExtension::ALPN(list) => {
                alpn_first = list.first().copied();
                out.alpn = alpn_first.map(|a| String::from_utf8_lossy(a).into_owned());
            }
            TlsExtension::EllipticCurves(g) => {
                groups = g.iter().map(|x| x.0).filter(|x| !is_grease(*x)).collect()
            }
            TlsExtension::EcPointFormats(p) => {
                point_formats = p.iter().map(|x| *x as u16).collect()
            }
            TlsExtension::SignatureAlgorithms(s) => sigalgs = s.clone(),
            TlsExtension::SupportedVersions(v) => {
                versions = v.iter().map(|x| x.0).filter(|x| !is_grease(*x)).collect()
            }
            _ => {}
        }
    }
    let ja3 = format!(
        "{},{},{},{},{}",
        legacy_version,
        join_dec(&ciphers),
        join_dec(&types),
        join_dec(&groups),
        join_dec(&point_formats)
    );
    out.ja3 = Md5::digest(ja3.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    let version = versions.iter().copied().max().unwrap_or(legacy_version);
    let ja4_a = format!(
        "t{}{}{:02}{:02}{}",
        tls_version_code(version),
        if out.sni.is_some() { 'd' } else { 'i' },
        ciphers.len().min(99),
        types.len().min(99),
        alpn_code(alpn_first)
    );
    let mut sorted_ciphers = ciphers.clone();
    sorted_ciphers.sort_unstable();
    let ja4_b = if sorted_ciphers.is_empty() {
        "000000000000".into()
    } else {
        sha12(&join_hex(&sorted_ciphers))
    };
    let mut sorted_ext: Vec<u16> = types
        .iter()
        .copied()
        .filter(|t| *t != 0x0000 && *t != 0x0010)
        .collect();
    sorted_ext.sort_unstable();
    let ja4_c = if sorted_ext.is_empty() {
        "000000000000".into()
    } else if sigalgs.is_empty() {
        sha12(&join_hex(&sorted_ext))
    } else {
        sha12(&format!("{}_{}", join_hex(&sorted_ext), join_hex(&sigalgs)))
    };
    out.ja4 = format!("{ja4_a}_{ja4_b}_{ja4_c}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello for "example.com" with ALPN h2 (hand-assembled from RFC 8446 fields).
    pub fn sample_hello() -> Vec<u8> {
        let mut ext = Vec::new();
        // server_name
        let name = b"example.com";
        let mut sni = vec![0, (name.len() + 3) as u8, 0, 0, name.len() as u8];
        sni.extend_from_slice(name);
        ext.extend_from_slice(&[0x00, 0x00, 0, sni.len() as u8]);
        ext.extend_from_slice(&sni);
        // supported_groups x25519, secp256r1
        ext.extend_from_slice(&[0x00, 0x0a, 0, 6, 0, 4, 0x00, 0x1d, 0x00, 0x17]);
        // signature_algorithms
        ext.extend_from_slice(&[0x00, 0x0d, 0, 6, 0, 4, 0x04, 0x03, 0x08, 0x04]);
        // ALPN h2
        ext.extend_from_slice(&[0x00, 0x10, 0, 5, 0, 3, 2, b'h', b'2']);
        // supported_versions 1.3, 1.2
        ext.extend_from_slice(&[0x00, 0x2b, 0, 5, 4, 0x03, 0x04, 0x03, 0x03]);
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[7u8; 32]);
        body.push(0); // session id
        body.extend_from_slice(&[0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]); // GREASE + 2 ciphers
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn parses_sni_alpn_and_fingerprints() {
        let HelloParse::Done(h) = parse_client_hello(&sample_hello()) else {
            panic!("no hello")
        };
        assert_eq!(h.sni.as_deref(), Some("example.com"));
        assert_eq!(h.alpn.as_deref(), Some("h2"));
        assert!(h.ja4.starts_with("t13d0205h2_"), "{}", h.ja4);
        assert_eq!(h.ja3.len(), 32);
        // JA3 string is "771,4865-49199,0-10-13-16-43,29-23,"
        let want: String = Md5::digest(b"771,4865-49199,0-10-13-16-43,29-23,")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h.ja3, want);
    }

    #[test]
    fn partial_hello_waits_for_more() {
        let h = sample_hello();
        for cut in 3..h.len() {
            assert_eq!(
                parse_client_hello(&h[..cut]),
                HelloParse::NeedMore,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn grease_detection() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a1a) && !is_grease(0x1301));
    }
}
