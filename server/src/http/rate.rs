//! Per-client rate limits on the requests a stranger can repeat cheaply but that cost the
//! server real work: registering (a password hash), starting an upload (a temp file and a
//! row), searching (a query per page, a gallery page), counting facets (a scan of a
//! sample) and liking (a write). Each is a token bucket per client (GCRA, the `governor` crate), keyed on the
//! address the login throttle uses: the `ClientIp` the proxy rules give, IPv6 by its /64.
//! Past a limit the answer is `429` with `Retry-After`; logins have their own throttle
//! (`app::auth::throttle`), which counts failures rather than requests.

use std::{fmt, net::IpAddr, num::NonZeroU32, str::FromStr, sync::Arc, time::Duration};

use app::{
    auth::{throttle::retry_after_secs, ClientIp, ThrottleKey},
    error::ApiError,
};
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::Response,
};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::error_response;

/// At most `count` requests per `per`, of which all `count` may come at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_minute(count: u32) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(60),
        }
    }

    pub const fn per_hour(count: u32) -> Rate {
        Rate {
            count,
            per: Duration::from_secs(3600),
        }
    }

    fn quota(self) -> Option<Quota> {
        let count = NonZeroU32::new(self.count)?;
        Some(Quota::with_period(self.per / count.get())?.allow_burst(count))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "second",
            60 => "minute",
            3600 => "hour",
            86_400 => "day",
            secs => return write!(f, "{}/{secs}s", self.count),
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// `10/minute`, `5/hour`, `100/second`, `1000/day`; `off` (or `0`) for no limit.
impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Rate, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") || text == "0" {
            return Ok(Rate {
                count: 0,
                per: Duration::from_secs(60),
            });
        }
        let bad = || format!("“{text}” is not a rate; write it as 10/minute, 5/hour or off");
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let secs = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad()),
        };
        Ok(Rate {
            count,
            per: Duration::from_secs(secs),
        })
    }
}

/// Registering: each costs a password hash (~19 MiB and a core for a moment).
pub const REGISTER: Rate = Rate::per_hour(10);
/// Starting an upload (the JavaScript start or the no-JavaScript form): enough for a
/// folder of a few thousand files an hour, in bursts of a hundred.
pub const UPLOAD_START: Rate = Rate::per_minute(100);
/// Gallery, profile and tag pages and the search API (`/api/assets`, `/api/profile`,
/// `/api/tags`): two a second sustained, far beyond a person scrolling.
pub const SEARCH: Rate = Rate::per_minute(120);
/// Facet counts (`/api/facets`), which scan up to a thousand matches each.
pub const FACETS: Rate = Rate::per_minute(30);
/// Likes and unlikes (`/api/assets/like`): each is a write; one a second sustained is
/// more than anyone clicks, in bursts of sixty.
pub const LIKES: Rate = Rate::per_minute(60);
/// Past this many tracked clients, clients whose buckets are full again are forgotten at
/// once rather than at the next periodic prune.
const PRUNE_ABOVE: usize = 100_000;

/// The limits in force (`atelier serve --rate-…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub register: Rate,
    pub upload_start: Rate,
    pub search: Rate,
    pub facets: Rate,
    pub likes: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            register: REGISTER,
            upload_start: UPLOAD_START,
            search: SEARCH,
            facets: FACETS,
            likes: LIKES,
        }
    }
}

impl RateLimits {
    /// No limits at all (for benchmarks and tests that load one client on purpose).
    pub fn off() -> RateLimits {
        let off = Rate {
            count: 0,
            per: Duration::from_secs(60),
        };
        RateLimits {
            register: off,
            upload_start: off,
            search: off,
            facets: off,
            likes: off,
        }
    }
}

/// The kinds of request that are limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Register,
    UploadStart,
    Search,
    Facets,
    Like,
}

impl Kind {
    /// Which limit a request falls under, if any: by method and path alone, before any
    /// work is done for it.
    fn of(method: &Method, path: &str) -> Option<Kind> {
        if method == Method::POST {
            return match path {
                "/api/register" => Some(Kind::Register),
                "/api/upload/start" | "/api/upload/form" => Some(Kind::UploadStart),
                "/api/assets/like" => Some(Kind::Like),
                _ => None,
            };
        }
        if method != Method::GET {
            return None;
        }
        match path {
            "/api/facets" => Some(Kind::Facets),
            "/" | "/api/assets" | "/api/profile" | "/api/tags" => Some(Kind::Search),
            _ if path.starts_with("/u/") || path.starts_with("/t/") => Some(Kind::Search),
            _ => None,
        }
    }

    fn refusal(self, secs: u64) -> String {
        let what = match self {
            Kind::Register => "too many accounts registered from your address",
            Kind::UploadStart => "too many uploads started from your address",
            Kind::Search => "too many searches from your address",
            Kind::Facets => "too many filter counts from your address",
            Kind::Like => "too many likes from your address",
        };
        format!("{what}; try again in {secs} seconds")
    }
}

/// One bucket per client for each limited kind of request.
pub struct RateLimiters {
    register: Option<DefaultKeyedRateLimiter<IpAddr>>,
    upload_start: Option<DefaultKeyedRateLimiter<IpAddr>>,
    search: Option<DefaultKeyedRateLimiter<IpAddr>>,
    facets: Option<DefaultKeyedRateLimiter<IpAddr>>,
    likes: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimiters {
    pub fn new(limits: RateLimits) -> RateLimiters {
        let keyed = |rate: Rate| rate.quota().map(RateLimiter::keyed);
        RateLimiters {
            register: keyed(limits.register),
            upload_start: keyed(limits.upload_start),
            search: keyed(limits.search),
            facets: keyed(limits.facets),
            likes: keyed(limits.likes),
        }
    }

    fn limiter(&self, kind: Kind) -> Option<&DefaultKeyedRateLimiter<IpAddr>> {
        match kind {
            Kind::Register => self.register.as_ref(),
            Kind::UploadStart => self.upload_start.as_ref(),
            Kind::Search => self.search.as_ref(),
            Kind::Facets => self.facets.as_ref(),
            Kind::Like => self.likes.as_ref(),
        }
    }

    fn all(&self) -> impl Iterator<Item = &DefaultKeyedRateLimiter<IpAddr>> {
        [
            &self.register,
            &self.upload_start,
            &self.search,
            &self.facets,
            &self.likes,
        ]
        .into_iter()
        .flatten()
    }

    /// `Err(wait)` when `client` has used up its bucket for `kind`.
    fn check(&self, kind: Kind, client: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = self.limiter(kind) else {
            return Ok(());
        };
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
        }
        limiter
            .check_key(&client_key(client))
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    /// Forgets clients whose buckets are full again (run every minute by the background
    /// upkeep); answers how many clients are still tracked.
    pub fn prune(&self) -> usize {
        self.all()
            .map(|limiter| {
                limiter.retain_recent();
                limiter.shrink_to_fit();
                limiter.len()
            })
            .sum()
    }
}

/// The client as the login throttle counts it: IPv4, or the /64 of IPv6.
fn client_key(ip: IpAddr) -> IpAddr {
    match ThrottleKey::client(ip) {
        ThrottleKey::Client(ip) => ip,
        ThrottleKey::Account(_) => ip,
    }
}

/// Middleware (inside `identify_client`): refuses a limited request past its client's
/// limit with `429` and `Retry-After`. A request whose client is unknown (no socket, as in
/// some tests) is not limited.
pub async fn limit(limiters: Arc<RateLimiters>, req: Request, next: Next) -> Response {
    let kind = Kind::of(req.method(), req.uri().path());
    let client = req.extensions().get::<ClientIp>().map(|ip| ip.0);
    if let (Some(kind), Some(client)) = (kind, client) {
        if let Err(wait) = limiters.check(kind, client) {
            let secs = retry_after_secs(wait);
            let mut response = error_response(&ApiError::TooManyRequests(kind.refusal(secs)), None);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_written_as_a_count_per_unit() {
        assert_eq!("10/minute".parse(), Ok(Rate::per_minute(10)));
        assert_eq!("5/hour".parse(), Ok(Rate::per_hour(5)));
        assert_eq!(" 3 / h ".parse(), Ok(Rate::per_hour(3)));
        assert_eq!("off".parse::<Rate>().map(|r| r.count), Ok(0));
        assert!("ten/minute".parse::<Rate>().is_err());
        assert!("10/fortnight".parse::<Rate>().is_err());
        assert!("10".parse::<Rate>().is_err());
        assert_eq!(Rate::per_hour(10).to_string(), "10/hour");
    }

    #[test]
    fn requests_are_limited_by_what_they_cost_not_by_every_path() {
        assert_eq!(
            Kind::of(&Method::POST, "/api/register"),
            Some(Kind::Register)
        );
        assert_eq!(
            Kind::of(&Method::POST, "/api/upload/form"),
            Some(Kind::UploadStart)
        );
        assert_eq!(Kind::of(&Method::GET, "/t/portrait"), Some(Kind::Search));
        assert_eq!(Kind::of(&Method::GET, "/api/facets"), Some(Kind::Facets));
        assert_eq!(
            Kind::of(&Method::POST, "/api/assets/like"),
            Some(Kind::Like)
        );
        assert_eq!(Kind::of(&Method::POST, "/api/login"), None);
        assert_eq!(Kind::of(&Method::GET, "/a/abc"), None);
        assert_eq!(Kind::of(&Method::GET, "/healthz"), None);
        assert_eq!(Kind::of(&Method::POST, "/api/upload/chunk"), None);
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_while_others_go_on() {
        let limiters = RateLimiters::new(RateLimits {
            register: Rate::per_hour(3),
            ..RateLimits::default()
        });
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(limiters.check(Kind::Register, a), Ok(()));
        }
        let wait = limiters.check(Kind::Register, a).expect_err("limited");
        // One of three an hour comes back after twenty minutes.
        assert!(
            wait > Duration::from_secs(1190) && wait <= Duration::from_secs(1200),
            "{wait:?}"
        );
        assert_eq!(limiters.check(Kind::Register, b), Ok(()));
        // Another kind of request has its own bucket.
        assert_eq!(limiters.check(Kind::Search, a), Ok(()));
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_64() {
        let limiters = RateLimiters::new(RateLimits {
            register: Rate::per_hour(1),
            ..RateLimits::default()
        });
        let first: IpAddr = "2001:db8:5:6::1".parse().expect("ip");
        let same_64: IpAddr = "2001:db8:5:6:abcd::9".parse().expect("ip");
        assert_eq!(limiters.check(Kind::Register, first), Ok(()));
        assert!(limiters.check(Kind::Register, same_64).is_err());
    }

    #[test]
    fn off_means_no_limit() {
        let limiters = RateLimiters::new(RateLimits::off());
        let a: IpAddr = "192.0.2.3".parse().expect("ip");
        for _ in 0..1000 {
            assert_eq!(limiters.check(Kind::Search, a), Ok(()));
        }
        assert_eq!(limiters.prune(), 0);
    }
}
