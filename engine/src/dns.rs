//! DNS messages (over UDP): the names asked and the addresses and aliases answered.

use simple_dns::rdata::RData;
use simple_dns::Packet;

/// Most answers we keep per flow; a resolver flow can carry thousands.
pub const MAX_ANSWERS: usize = 32;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsInfo {
    pub query: Option<String>,
    pub answers: Vec<String>,
    pub rcode: Option<u8>,
}

/// Parse one DNS message and merge what it says into `info`. Returns false if the
/// payload is not a DNS message.
pub fn merge_dns(payload: &[u8], info: &mut DnsInfo) -> bool {
    let Ok(p) = Packet::parse(payload) else { return false };
    if info.query.is_none() {
        info.query = p.questions.first().map(|q| q.qname.to_string().to_ascii_lowercase());
    }
    if !p.answers.is_empty() || info.rcode.is_none() {
        info.rcode = Some(p.rcode() as u16 as u8);
    }
    for rr in &p.answers {
        if info.answers.len() >= MAX_ANSWERS {
            break;
        }
        let value = match &rr.rdata {
            RData::A(a) => std::net::Ipv4Addr::from(a.address).to_string(),
            RData::AAAA(a) => std::net::Ipv6Addr::from(a.address).to_string(),
            RData::CNAME(c) => c.0.to_string().to_ascii_lowercase(),
            _ => continue,
        };
        if !info.answers.contains(&value) {
            info.answers.push(value);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{rdata, Name, Question, ResourceRecord, CLASS, QCLASS, QTYPE, TYPE};

    #[test]
    fn query_and_answers() {
        let mut p = Packet::new_reply(7);
        p.questions.push(Question::new(Name::new_unchecked("pool.example.org"), QTYPE::TYPE(TYPE::A), QCLASS::CLASS(CLASS::IN), false));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("pool.example.org"),
            CLASS::IN,
            60,
            RData::A(rdata::A { address: 0xc0000201 }),
        ));
        let bytes = p.build_bytes_vec().unwrap();
        let mut info = DnsInfo::default();
        assert!(merge_dns(&bytes, &mut info));
        assert_eq!(info.query.as_deref(), Some("pool.example.org"));
        assert_eq!(info.answers, vec!["192.0.2.1".to_string()]);
        for cut in 0..bytes.len() {
            let _ = merge_dns(&bytes[..cut], &mut DnsInfo::default());
        }
    }
}
