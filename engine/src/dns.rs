//! DNS messages (over UDP): the names asked and the addresses and aliases answered.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use ahash::AHashMap;
use simple_dns::rdata::RData;
use simple_dns::Packet;

use crate::decode::{v4_mapped, Addr};

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
    let Ok(p) = Packet::parse(payload) else {
        return false;
    };
    if info.query.is_none() {
        info.query = p
            .questions
            .first()
            .map(|q| q.qname.to_string().to_ascii_lowercase());
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

/// Addresses kept per generation of the name cache; two generations are kept.
const NAMES_PER_GENERATION: usize = 1 << 17;

/// The names DNS answers gave to addresses, shared by the flow tables of one scan: a flow
/// to an address that was looked up earlier carries the name it was looked up by, even
/// when another worker saw the DNS answer. Bounded: when the current generation is full
/// it becomes the previous one and the oldest is dropped.
#[derive(Clone, Default)]
pub struct NameCache {
    inner: Arc<RwLock<[AHashMap<Addr, Arc<str>>; 2]>>,
}

impl NameCache {
    /// Remember the names a DNS response gave (the question's name, for its A and AAAA
    /// answers; the latest answer for an address wins).
    pub fn learn(&self, info: &DnsInfo) {
        let Some(query) = info.query.as_deref().filter(|q| !q.is_empty()) else {
            return;
        };
        let addrs: Vec<Addr> = info
            .answers
            .iter()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .map(|ip| match ip {
                IpAddr::V4(v4) => v4_mapped(v4.octets()),
                IpAddr::V6(v6) => v6.octets(),
            })
            .collect();
        if addrs.is_empty() {
            return;
        }
        let name: Arc<str> = Arc::from(query.trim_end_matches('.'));
        let mut gens = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for a in addrs {
            if gens[0].len() >= NAMES_PER_GENERATION {
                gens[1] = std::mem::take(&mut gens[0]);
            }
            gens[0].insert(a, name.clone());
        }
    }

    pub fn name_of(&self, addr: &Addr) -> Option<String> {
        let gens = self.inner.read().unwrap_or_else(|e| e.into_inner());
        gens[0]
            .get(addr)
            .or_else(|| gens[1].get(addr))
            .map(|n| n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{rdata, Name, Question, ResourceRecord, CLASS, QCLASS, QTYPE, TYPE};

    #[test]
    fn query_and_answers() {
        let mut p = Packet::new_reply(7);
        p.questions.push(Question::new(
            Name::new_unchecked("pool.example.org"),
            QTYPE::TYPE(TYPE::A),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        p.answers.push(ResourceRecord::new(
            Name::new_unchecked("pool.example.org"),
            CLASS::IN,
            60,
            RData::A(rdata::A {
                address: 0xc0000201,
            }),
        ));
        let bytes = p.build_bytes_vec().unwrap();
        let mut info = DnsInfo::default();
        assert!(merge_dns(&bytes, &mut info));
        assert_eq!(info.query.as_deref(), Some("pool.example.org"));
        assert_eq!(info.answers, vec!["192.0.2.1".to_string()]);
        let names = NameCache::default();
        names.learn(&info);
        assert_eq!(
            names.name_of(&v4_mapped([192, 0, 2, 1])).as_deref(),
            Some("pool.example.org")
        );
        assert_eq!(names.name_of(&v4_mapped([192, 0, 2, 2])), None);
        for cut in 0..bytes.len() {
            let _ = merge_dns(&bytes[..cut], &mut DnsInfo::default());
        }
    }
}
