//! How long a request may take: a short limit for ordinary requests (until the response's
//! head is ready; a download then streams at the client's pace), and for the endpoints that
//! carry file bytes a longer one with a minimum transfer rate. An upload body that trickles
//! below the rate, runs past its limit, or is still arriving when a shutdown runs out of
//! time is cut like a dropped connection: the handler keeps and syncs what arrived and
//! stores its receipt, so the client resumes from there later.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use app::error::ApiError;
use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    BoxError,
};
use http_body::{Frame, SizeHint};
use tokio::{
    sync::watch,
    time::{Instant, Sleep},
};

use super::error::error_response;

/// How long an ordinary request may take until its response's head is ready.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request that carries file bytes (a chunk, a whole file, a poster) may take
/// to arrive; its handler then has [`REQUEST_TIMEOUT`] more to answer.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The slowest an upload body may arrive, in bytes per second, averaged over
/// [`UPLOAD_RATE_WINDOW`]: 8 KiB/s, a 8 MiB chunk in about 17 minutes.
pub const UPLOAD_MIN_RATE: u64 = 8 * 1024;
/// The stretch of time over which an upload's rate is measured: a pause shorter than this
/// is forgiven when the bytes make up for it.
pub const UPLOAD_RATE_WINDOW: Duration = Duration::from_secs(30);

/// The limits of [`ordinary`] and [`uploads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// [`UPLOAD_TIMEOUT`].
    pub upload_timeout: Duration,
    /// [`UPLOAD_MIN_RATE`], in bytes per second.
    pub upload_min_rate: u64,
    /// [`UPLOAD_RATE_WINDOW`].
    pub upload_rate_window: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            request_timeout: REQUEST_TIMEOUT,
            upload_timeout: UPLOAD_TIMEOUT,
            upload_min_rate: UPLOAD_MIN_RATE,
            upload_rate_window: UPLOAD_RATE_WINDOW,
        }
    }
}

/// Tells the upload bodies still arriving to stop: a shutdown about to run out of time
/// pulls it, so that their handlers still store what arrived before the server exits.
#[derive(Clone, Debug)]
pub struct UploadCut(watch::Sender<bool>);

impl Default for UploadCut {
    fn default() -> Self {
        UploadCut(watch::Sender::new(false))
    }
}

impl UploadCut {
    /// Cuts every upload body still arriving, and every one that starts from now on.
    pub fn cut(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`UploadCut::cut`] was called (never, if it never is).
    fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut cut = self.0.subscribe();
        async move {
            if cut.wait_for(|cut| *cut).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// What [`ordinary`] and [`uploads`] need.
#[derive(Clone, Debug)]
pub struct Timing {
    pub limits: RequestLimits,
    pub cut: UploadCut,
}

/// Middleware for every route but the uploads: a request whose response is not ready
/// within [`RequestLimits::request_timeout`] is answered `503` and its work dropped.
///
/// The request runs in a task of its own, to its end or to this limit, whether or not the
/// client is still there: a page that is cut off halfway has Leptos dispose of its reactive
/// owner while an effect on the other worker thread may still be rendering it, which panics
/// in the middle of the reactive runtime. A client that leaves costs at most the rest of
/// the limit; only a request that runs out of time is cut.
pub async fn ordinary(State(timing): State<Timing>, req: Request, next: Next) -> Response {
    let limit = timing.limits.request_timeout;
    let api = req.uri().path().starts_with("/api/");
    match tokio::spawn(tokio::time::timeout(limit, next.run(req))).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => too_slow(api, limit),
        // The handler's panic goes on to `CatchPanicLayer`, which answers 500.
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        // Cancelled: the runtime is shutting down.
        Err(_) => too_slow(api, limit),
    }
}

/// Middleware for the endpoints that carry file bytes: the body is [`Paced`], and the
/// whole request may take [`RequestLimits::upload_timeout`] plus
/// [`RequestLimits::request_timeout`].
pub async fn uploads(State(timing): State<Timing>, req: Request, next: Next) -> Response {
    let limits = timing.limits;
    let cut = timing.cut.wait();
    let req = req.map(|body| Body::new(Paced::new(body, &limits, Box::pin(cut))));
    let limit = limits.upload_timeout + limits.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => too_slow(true, limit),
    }
}

/// The answer to a request that ran out of time: `503`, as the API's JSON error under
/// `/api/` and as plain text elsewhere, with `Retry-After`.
fn too_slow(api: bool, limit: Duration) -> Response {
    tracing::warn!(seconds = limit.as_secs(), "a request ran out of time");
    let message = format!(
        "the server could not answer within {} seconds; try again shortly",
        limit.as_secs()
    );
    let mut response = if api {
        error_response(&ApiError::Unavailable(message), None)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("{message}\n")).into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// A request body that fails, as a dropped connection would, when it arrives slower than
/// the minimum rate over a window, when it is still arriving at its deadline, or when a
/// shutdown cuts it.
struct Paced {
    inner: Body,
    /// Bytes that must arrive within each window.
    per_window: u64,
    window: Duration,
    /// [`RequestLimits::upload_min_rate`] and [`RequestLimits::upload_timeout`], for the
    /// messages.
    min_rate: u64,
    limit: Duration,
    /// Bytes arrived in the current window.
    arrived: u64,
    /// When the body must be complete.
    deadline: Instant,
    /// Wakes at the end of the current window (or at the deadline, if sooner).
    tick: Pin<Box<Sleep>>,
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Set once the body has failed: nothing more comes.
    failed: bool,
}

impl Paced {
    fn new(
        inner: Body,
        limits: &RequestLimits,
        cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Self {
        let now = Instant::now();
        let window = limits.upload_rate_window.max(Duration::from_millis(1));
        let deadline = now + limits.upload_timeout;
        let per_window =
            u64::try_from(u128::from(limits.upload_min_rate) * window.as_millis() / 1000)
                .unwrap_or(u64::MAX);
        Paced {
            inner,
            per_window,
            window,
            min_rate: limits.upload_min_rate,
            limit: limits.upload_timeout,
            arrived: 0,
            deadline,
            tick: Box::pin(tokio::time::sleep_until((now + window).min(deadline))),
            cut,
            failed: false,
        }
    }

    fn fail(&mut self, why: String) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = true;
        tracing::info!(%why, "an upload body was cut");
        Poll::Ready(Some(Err(why.into())))
    }
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        if this.cut.as_mut().poll(cx).is_ready() {
            return this.fail("the server is shutting down".into());
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.arrived += data.len() as u64;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        // Waiting for bytes: the clock decides whether to wait longer.
        while this.tick.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if now >= this.deadline {
                let why = format!(
                    "the upload took longer than the {} seconds allowed",
                    this.limit.as_secs()
                );
                return this.fail(why);
            }
            if this.arrived < this.per_window {
                let why = format!(
                    "the upload slowed below {} bytes per second for {} seconds",
                    this.min_rate,
                    this.window.as_secs_f64()
                );
                return this.fail(why);
            }
            this.arrived = 0;
            let next = (now + this.window).min(this.deadline);
            this.tick.as_mut().reset(next);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
