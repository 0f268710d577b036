//! Who is the client? The socket peer, unless that peer is a proxy the operator trusts
//! (`--trusted-proxies`): then the address that proxy forwarded in `X-Forwarded-For`.
//! Likewise whether the browser spoke HTTPS: only a trusted proxy's `X-Forwarded-Proto`
//! says so (atelier itself serves plain HTTP).

use std::{
    net::IpAddr,
    net::SocketAddr,
    str::FromStr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use app::auth::ClientIp;
use axum::{
    extract::{connect_info::MockConnectInfo, ConnectInfo, Request},
    middleware::Next,
    response::Response,
};

/// An address or a CIDR range, such as `10.0.0.0/8` or `::1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRange {
    base: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let base = canonical(
            addr.parse::<IpAddr>()
                .map_err(|_| format!("“{text}” is not an IP address or CIDR range"))?,
        );
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("“{text}”: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpRange { base, prefix })
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    ranges: Arc<Vec<IpRange>>,
    /// Set once the server has warned that a proxy it does not trust is forwarding.
    warned: Arc<AtomicBool>,
}

/// A peer on the same machine or a private network: where a reverse proxy usually is.
fn is_local(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

impl TrustedProxies {
    pub fn new(ranges: Vec<IpRange>) -> Self {
        TrustedProxies {
            ranges: Arc::new(ranges),
            warned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A forwarded request from a local peer that is not trusted: most likely a reverse
    /// proxy nobody told us about. Then every client looks like the proxy, and the
    /// per-client limits (login throttle, rate limits) hold for everyone together. Says so
    /// once, loudly; answers whether this call was the one that warned.
    fn warn_untrusted_proxy(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> bool {
        if !headers.contains_key("x-forwarded-for") || !is_local(peer) {
            return false;
        }
        if self.warned.swap(true, Ordering::Relaxed) {
            return false;
        }
        tracing::warn!(
            %peer,
            "requests arrive with X-Forwarded-For from {peer}, which is not a trusted proxy: \
             every client looks like {peer}, so the login throttle and the rate limits count \
             all of them as one. If {peer} is your reverse proxy, start atelier with \
             --trusted-proxies {peer}"
        );
        true
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|range| range.contains(ip))
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right (the hop nearest
    /// us), the first address that is not a trusted proxy. A header from an untrusted
    /// peer is ignored: anyone can write one.
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            self.warn_untrusted_proxy(client, headers);
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                // Garbage from a trusted proxy: stop at the last address we could read.
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// Whether the browser reached us over HTTPS (through a trusted proxy that says so).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Https(pub bool);

impl TrustedProxies {
    /// HTTPS when `peer` is a trusted proxy whose `X-Forwarded-Proto` (its own, the last
    /// value) is `https`.
    pub fn https(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> bool {
        self.trusts(canonical(peer))
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// Middleware: records the client's address in the request's extensions as [`ClientIp`],
/// and whether it came over HTTPS as [`Https`].
pub async fn identify_client(proxies: TrustedProxies, mut req: Request, next: Next) -> Response {
    let extensions = req.extensions();
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        // What tests install in place of a socket (axum's ConnectInfo extractor does the same).
        .or_else(|| {
            extensions
                .get::<MockConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        });
    if let Some(peer) = peer {
        let ip = proxies.client_ip(peer, req.headers());
        let https = proxies.https(peer, req.headers());
        req.extensions_mut().insert(ClientIp(ip));
        req.extensions_mut().insert(Https(https));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("header"));
        headers
    }

    #[test]
    fn ranges_parse_and_match() {
        let lan: IpRange = "10.0.0.0/8".parse().expect("range");
        assert!(lan.contains(ip("10.1.2.3")));
        assert!(!lan.contains(ip("11.0.0.1")));
        assert!(lan.contains(ip("::ffff:10.0.0.1")));
        let one: IpRange = "::1".parse().expect("range");
        assert!(one.contains(ip("::1")));
        assert!(!one.contains(ip("::2")));
        let all: IpRange = "0.0.0.0/0".parse().expect("range");
        assert!(all.contains(ip("203.0.113.9")));
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("localhost".parse::<IpRange>().is_err());
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxies = TrustedProxies::new(vec!["127.0.0.1".parse().expect("range")]);
        let spoofed = forwarded("203.0.113.5");
        // Straight from the internet: the header is the client's own claim, ignored.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.7"), &spoofed),
            ip("198.51.100.7")
        );
        // Through our proxy: the address it saw.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &spoofed),
            ip("203.0.113.5")
        );
        // A client that sends its own header through the proxy cannot pick its address:
        // the proxy appends the real one, which is the rightmost untrusted hop.
        let chained = forwarded("1.2.3.4, 203.0.113.5");
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &chained),
            ip("203.0.113.5")
        );
        // No proxies configured: never believed.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("127.0.0.1"), &spoofed), ip("127.0.0.1"));
        // Garbage stops the walk at the proxy itself.
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded("not-an-ip")),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn only_a_trusted_proxy_can_say_the_browser_used_https() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().expect("range")]);
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", "https".parse().expect("header"));
        assert!(proxies.https(ip("10.0.0.2"), &headers));
        assert!(
            !proxies.https(ip("198.51.100.7"), &headers),
            "a client's claim"
        );
        assert!(!proxies.https(ip("10.0.0.2"), &HeaderMap::new()));
        headers.insert("x-forwarded-proto", "https, http".parse().expect("header"));
        assert!(
            !proxies.https(ip("10.0.0.2"), &headers),
            "the last hop's word counts"
        );
    }

    #[test]
    fn a_proxy_nobody_trusts_is_pointed_out_once() {
        let proxies = TrustedProxies::default();
        let headers = forwarded("203.0.113.5");
        // A public peer sending the header is a client's own claim, not a proxy.
        assert!(!proxies.warn_untrusted_proxy(ip("198.51.100.7"), &headers));
        // A local peer without the header is a local client.
        assert!(!proxies.warn_untrusted_proxy(ip("127.0.0.1"), &HeaderMap::new()));
        assert!(proxies.warn_untrusted_proxy(ip("10.0.0.2"), &headers));
        assert!(
            !proxies.warn_untrusted_proxy(ip("10.0.0.2"), &headers),
            "only once"
        );
        assert!(TrustedProxies::default().warn_untrusted_proxy(ip("::1"), &headers));
    }
}
