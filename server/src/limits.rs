//! Limits against abuse (issue 18): keyed rate throttles (sign-ins per
//! address and per username, uploads per account), the client's address,
//! and the socket quotas (per account, per address, per process).
//!
//! None of this is on the broadcast path: a throttle is one map lookup per
//! sign-in or upload, and the socket quotas are counted when a socket opens
//! and closes.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;
use crate::config::{Quotas, Rate};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain counters: keep going after a panic elsewhere.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Most keys a [`Throttle`] tracks. Past it, buckets that have refilled are
/// dropped (at most once a second); a key that still finds no room is let
/// through untracked rather than refused (so filling the map cannot lock
/// everyone out; the other throttles and the hashing queue still apply).
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Tokens left (at most the rate's count).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// A token bucket per key: at most `rate.count` at once, refilled evenly over
/// `rate.per`.
pub struct Throttle<K> {
    rate: Rate,
    state: Mutex<ThrottleState<K>>,
}

struct ThrottleState<K> {
    buckets: HashMap<K, Bucket>,
    pruned_at: Option<Instant>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// A throttle at `rate` (unlimited: every `take` succeeds, nothing is kept).
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            state: Mutex::new(ThrottleState {
                buckets: HashMap::new(),
                pruned_at: None,
            }),
        }
    }

    /// Tokens gained per second.
    fn refill_per_sec(&self) -> f64 {
        f64::from(self.rate.count) / self.rate.per.as_secs_f64()
    }

    /// Takes one token for `key` at `now`; `Err(wait)` (until a token is
    /// back) when there is none.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if self.rate.is_unlimited() {
            return Ok(());
        }
        let capacity = f64::from(self.rate.count);
        let per_sec = self.refill_per_sec();
        let mut state = lock(&self.state);
        if !state.buckets.contains_key(key) && state.buckets.len() >= MAX_KEYS {
            self.prune(&mut state, now);
            if state.buckets.len() >= MAX_KEYS {
                return Ok(());
            }
        }
        let bucket = state.buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }

    /// Gives back a token taken for `key` (a sign-in that succeeded is not a
    /// failure).
    pub fn refund(&self, key: &K) {
        if self.rate.is_unlimited() {
            return;
        }
        let capacity = f64::from(self.rate.count);
        if let Some(bucket) = lock(&self.state).buckets.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(capacity);
        }
    }

    /// Drops the buckets that are full again (they say nothing a fresh one
    /// would not), at most once a second.
    fn prune(&self, state: &mut ThrottleState<K>, now: Instant) {
        if state
            .pruned_at
            .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        state.pruned_at = Some(now);
        let capacity = f64::from(self.rate.count);
        let per_sec = self.refill_per_sec();
        state.buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            bucket.tokens + elapsed * per_sec < capacity
        });
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        lock(&self.state).buckets.len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The TCP peer of a request, put in its extensions by the accept loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// A client address as the limits count it: an IPv4 address, or an IPv6
/// address's /64 network (one host usually holds a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddrKey(IpAddr);

impl AddrKey {
    /// The key of `ip` (IPv4-mapped IPv6 addresses count as their IPv4).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let net = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(net)))
                }
            },
        }
    }
}

impl std::fmt::Display for AddrKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The client's address: from `header` (set by a reverse proxy; its last
/// comma-separated address, the one the proxy added) when configured and
/// readable, else the TCP peer.
pub fn client_addr(headers: &HeaderMap, peer: Option<PeerAddr>, header: Option<&str>) -> AddrKey {
    let forwarded = header
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|last| parse_forwarded(last.trim()));
    let ip = forwarded
        .or_else(|| peer.map(|PeerAddr(addr)| addr.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    AddrKey::of(ip)
}

/// The client's address as the limits count it (an extractor: the peer put
/// there by the accept loop, or the configured proxy header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub AddrKey);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<PeerAddr>().copied();
        Ok(Self(client_addr(
            &parts.headers,
            peer,
            state.config.client_ip_header.as_deref(),
        )))
    }
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`.
fn parse_forwarded(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    text.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

/// Why a socket was refused by a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// The process holds its most sockets.
    Server,
    /// This address holds its most sockets.
    Address,
    /// This account holds its most sockets.
    User,
}

impl QuotaRefusal {
    /// The `reason` label of `quizpulse_sockets_refused_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Address => "address",
            Self::User => "user",
        }
    }

    /// The close reason sent with 1013.
    pub fn close_reason(self) -> &'static str {
        match self {
            Self::Server => "server full: try again later",
            Self::Address => "too many sockets from this address",
            Self::User => "too many sockets for this account",
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_address: HashMap<AddrKey, usize>,
    per_user: HashMap<i64, usize>,
}

/// Open sockets per process, address and account, against [`Quotas`].
pub struct SocketQuotas {
    quotas: Quotas,
    counts: Mutex<Counts>,
}

/// A socket's place in the quotas; given back when dropped.
pub struct SocketTicket {
    quotas: Arc<SocketQuotas>,
    address: AddrKey,
    user: Option<i64>,
}

fn over(limit: usize, count: usize) -> bool {
    limit != 0 && count >= limit
}

impl SocketQuotas {
    /// Counts against `quotas`.
    pub fn new(quotas: Quotas) -> Self {
        Self {
            quotas,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Admits a socket from `address` (before its token is checked: refused
    /// sockets cost something too), or says which quota it is over.
    pub fn admit(self: &Arc<Self>, address: AddrKey) -> Result<SocketTicket, QuotaRefusal> {
        let mut counts = lock(&self.counts);
        if over(self.quotas.sockets_total, counts.total) {
            return Err(QuotaRefusal::Server);
        }
        let at_address = counts.per_address.get(&address).copied().unwrap_or(0);
        if over(self.quotas.sockets_per_address, at_address) {
            return Err(QuotaRefusal::Address);
        }
        counts.total += 1;
        *counts.per_address.entry(address).or_default() += 1;
        Ok(SocketTicket {
            quotas: Arc::clone(self),
            address,
            user: None,
        })
    }

    /// Open sockets now: (total, from `address`, of `user`).
    pub fn counts(&self, address: AddrKey, user: i64) -> (usize, usize, usize) {
        let counts = lock(&self.counts);
        (
            counts.total,
            counts.per_address.get(&address).copied().unwrap_or(0),
            counts.per_user.get(&user).copied().unwrap_or(0),
        )
    }
}

impl SocketTicket {
    /// Counts the socket for `user` too, or refuses it (the ticket then still
    /// holds its address's place until dropped).
    pub fn for_user(&mut self, user: i64) -> Result<(), QuotaRefusal> {
        let mut counts = lock(&self.quotas.counts);
        let of_user = counts.per_user.get(&user).copied().unwrap_or(0);
        if over(self.quotas.quotas.sockets_per_user, of_user) {
            return Err(QuotaRefusal::User);
        }
        *counts.per_user.entry(user).or_default() += 1;
        self.user = Some(user);
        Ok(())
    }
}

impl Drop for SocketTicket {
    fn drop(&mut self) {
        let mut counts = lock(&self.quotas.counts);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&self.address);
            }
        }
        if let Some(user) = self.user
            && let Some(n) = counts.per_user.get_mut(&user)
        {
            *n -= 1;
            if *n == 0 {
                counts.per_user.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_one_per_interval() {
        let throttle = Throttle::new(Rate::new(3, Duration::from_secs(60)));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.take(&"a", t0), Ok(()));
        }
        let wait = throttle.take(&"a", t0).unwrap_err();
        assert!((19..=20).contains(&wait.as_secs()), "{wait:?}");
        // Another key has its own bucket.
        assert_eq!(throttle.take(&"b", t0), Ok(()));
        // 20 s later, one token is back.
        let t1 = t0 + Duration::from_secs(20);
        assert_eq!(throttle.take(&"a", t1), Ok(()));
        assert!(throttle.take(&"a", t1).is_err());
        // A refund gives one back.
        throttle.refund(&"a");
        assert_eq!(throttle.take(&"a", t1), Ok(()));
        // Unlimited keeps nothing.
        let free = Throttle::new(Rate::UNLIMITED);
        for _ in 0..1000 {
            assert_eq!(free.take(&"a", t0), Ok(()));
        }
        assert!(free.is_empty());
    }

    #[test]
    fn a_full_map_drops_refilled_buckets_and_never_refuses_an_untracked_key() {
        let throttle = Throttle::new(Rate::new(1, Duration::from_secs(1)));
        let t0 = Instant::now();
        for key in 0..MAX_KEYS {
            assert_eq!(throttle.take(&key, t0), Ok(()));
        }
        // Full, none refilled: a new key goes through untracked.
        assert_eq!(throttle.take(&MAX_KEYS, t0), Ok(()));
        assert_eq!(throttle.len(), MAX_KEYS);
        // Two seconds on, every bucket is full again: they go, the new key is kept.
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(throttle.take(&(MAX_KEYS + 1), t1), Ok(()));
        assert_eq!(throttle.len(), 1);
        assert!(throttle.take(&(MAX_KEYS + 1), t1).is_err());
    }

    #[test]
    fn addresses_come_from_the_proxy_header_only_when_configured() {
        let peer = Some(PeerAddr("10.0.0.9:4000".parse().unwrap()));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.7, 198.51.100.2".parse().unwrap(),
        );
        assert_eq!(client_addr(&headers, peer, None).to_string(), "10.0.0.9");
        assert_eq!(
            client_addr(&headers, peer, Some("X-Forwarded-For")).to_string(),
            "198.51.100.2"
        );
        // Unreadable: the peer.
        headers.insert("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(
            client_addr(&headers, peer, Some("x-forwarded-for")).to_string(),
            "10.0.0.9"
        );
        headers.insert("x-real-ip", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(
            client_addr(&headers, peer, Some("x-real-ip")).to_string(),
            "2001:db8::/64"
        );
        // IPv6 counts per /64; IPv4-mapped as IPv4.
        let a = AddrKey::of("2001:db8:0:1::1".parse().unwrap());
        let b = AddrKey::of("2001:db8:0:1:ffff::2".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, AddrKey::of("2001:db8:0:2::1".parse().unwrap()));
        assert_eq!(
            AddrKey::of("::ffff:192.0.2.1".parse().unwrap()).to_string(),
            "192.0.2.1"
        );
    }

    #[test]
    fn socket_quotas_count_and_give_back() {
        let quotas = Arc::new(SocketQuotas::new(Quotas {
            sockets_per_user: 2,
            sockets_per_address: 3,
            sockets_total: 4,
            uploads_per_user: Rate::UNLIMITED,
        }));
        let a = AddrKey::of("192.0.2.1".parse().unwrap());
        let b = AddrKey::of("192.0.2.2".parse().unwrap());
        let mut t1 = quotas.admit(a).unwrap();
        t1.for_user(7).unwrap();
        let mut t2 = quotas.admit(a).unwrap();
        t2.for_user(7).unwrap();
        let mut t3 = quotas.admit(a).unwrap();
        assert_eq!(t3.for_user(7), Err(QuotaRefusal::User));
        assert_eq!(quotas.admit(a).err(), Some(QuotaRefusal::Address));
        let _t4 = quotas.admit(b).unwrap();
        assert_eq!(quotas.admit(b).err(), Some(QuotaRefusal::Server));
        assert_eq!(quotas.counts(a, 7), (4, 3, 2));
        drop(t3);
        drop(t1);
        assert_eq!(quotas.counts(a, 7), (2, 1, 1));
        t3 = quotas.admit(a).unwrap();
        t3.for_user(7).unwrap();
        drop((t2, t3));
        assert_eq!(quotas.counts(a, 7), (1, 0, 0));
    }
}
