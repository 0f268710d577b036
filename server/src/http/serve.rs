//! Serving the router on a socket, HTTP/1.1 and h2c, under limits on connections: how long
//! a client may take to send a request's headers, how long a connection may sit idle, how
//! many may be open at once; and the graceful stop with a deadline.
//!
//! - Headers: on HTTP/1.1, hyper closes a connection whose request head is not complete
//!   [`HEADER_TIMEOUT`] after it began waiting for it (so an idle keep-alive connection
//!   also closes then); on any protocol, a connection that has not begun a request that
//!   long after it opened is closed (a silent client, a trickled h2 preface).
//! - Idle: a connection with no request being handled and nothing sent for
//!   [`IDLE_TIMEOUT`] is closed: an idle h2 connection, or a client that stopped reading
//!   its response.
//! - Connections: at most [`MAX_CONNECTIONS`] are served at once. Past that, a new one
//!   waits up to [`CONNECTION_WAIT`] for a slot (at most [`MAX_WAITING`] wait at once) and
//!   is then closed without an answer: the client sees a reset, as from an overloaded
//!   server, while the ones being served go on.
//! - Stopping: no new connections; requests in flight finish, for up to
//!   [`SHUTDOWN_DEADLINE`]. [`UPLOAD_CUT_LEAD`] before it, upload bodies still arriving are
//!   cut (their handlers keep and sync what arrived, so the upload resumes after a
//!   restart); at the deadline the connections still open are closed.
//!
//! How long one request may take is [`super::timeouts`]'s concern.

use std::{
    future::Future,
    net::SocketAddr,
    pin::{pin, Pin},
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::ConnectInfo,
    http::Request,
    Router,
};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{watch, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt;

use super::timeouts::UploadCut;

/// How long a client may take to send a request's headers (see the module's notes).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit with no request handled and nothing sent.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once. Each takes a file descriptor: at start the soft open-file
/// limit is raised to fit them (see [`fit_open_files`]).
pub const MAX_CONNECTIONS: u32 = 1024;
/// File descriptors kept for everything but connections: the database's, stored files
/// being served and uploads being written, the listener, the log.
pub const RESERVED_DESCRIPTORS: u64 = 512;

/// Makes room for `max_connections` under the open-file limit: raises the soft limit
/// towards the hard one (as far as `max_connections` plus [`RESERVED_DESCRIPTORS`] need,
/// never lowering it) and warns when they still do not fit, saying what to change. The
/// soft limit now in force (`None`: unlimited).
pub fn fit_open_files(max_connections: u32) -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let needed = u64::from(max_connections) + RESERVED_DESCRIPTORS;
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    if current >= needed {
        return Some(current);
    }
    let raised = limit.maximum.map_or(needed, |hard| needed.min(hard));
    let now = if raised > current
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            },
        )
        .is_ok()
    {
        tracing::info!(from = current, to = raised, "raised the open-file limit");
        raised
    } else {
        current
    };
    if now < needed {
        tracing::warn!(
            limit = now,
            max_connections,
            "the open-file limit leaves room for only {} connections (--max-connections is \
             {max_connections}); raise it (ulimit -n, or LimitNOFILE= under systemd) or lower \
             --max-connections",
            now.saturating_sub(RESERVED_DESCRIPTORS)
        );
    }
    Some(now)
}

/// How long a connection past [`MAX_CONNECTIONS`] waits for a slot before it is closed.
pub const CONNECTION_WAIT: Duration = Duration::from_secs(2);
/// Connections that may wait for a slot at once; past them, new ones are closed at once.
pub const MAX_WAITING: usize = 256;
/// How long a stop waits for requests in flight before it closes their connections.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// How long before the shutdown deadline upload bodies still arriving are cut, so that
/// their handlers store what arrived (at most half the deadline).
pub const UPLOAD_CUT_LEAD: Duration = Duration::from_secs(2);
/// How long a connection being closed (idle, or at the deadline) gets to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The pause after a failed `accept` (out of file descriptors, say) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// How often, at most, the log says that every connection slot is taken.
const FULL_REPORT_EVERY: Duration = Duration::from_secs(10);

/// The limits [`serve`] runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// [`MAX_CONNECTIONS`].
    pub max_connections: u32,
    /// [`SHUTDOWN_DEADLINE`].
    pub shutdown_deadline: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: HEADER_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            shutdown_deadline: SHUTDOWN_DEADLINE,
        }
    }
}

/// Where the server is in its life; every connection watches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Stopping: finish what is in flight, take no new request.
    Draining,
    /// The deadline passed: close now.
    Closing,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops as the module says:
/// returns once every connection is closed, or the deadline passed and the rest were.
/// `cut` is the router's [`UploadCut`]. Each request carries its peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    cut: UploadCut,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let waiting = Arc::new(Semaphore::new(MAX_WAITING));
    let (phase, _) = watch::channel(Phase::Serving);
    let builder = Arc::new(builder(&limits));
    let mut shutdown = pin!(shutdown);
    let mut reported_full: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "cannot accept a connection; pausing");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let conn = Connection {
            stream,
            peer,
            app: app.clone(),
            builder: builder.clone(),
            limits,
            phase: phase.subscribe(),
        };
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            tokio::spawn(conn.run(slot));
            continue;
        }
        if reported_full.is_none_or(|at| at.elapsed() >= FULL_REPORT_EVERY) {
            reported_full = Some(Instant::now());
            tracing::warn!(
                max_connections = limits.max_connections,
                "every connection slot is taken; new connections wait {} ms, then are closed",
                CONNECTION_WAIT.as_millis()
            );
        }
        // Past the cap: wait briefly for a slot, or be closed (at once when too many wait).
        if let Ok(waiter) = waiting.clone().try_acquire_owned() {
            let slots = slots.clone();
            tokio::spawn(async move {
                let _waiter = waiter;
                if let Ok(Ok(slot)) =
                    tokio::time::timeout(CONNECTION_WAIT, slots.acquire_owned()).await
                {
                    conn.run(slot).await;
                }
            });
        }
    }
    drop(listener);
    let open = || (limits.max_connections as usize).saturating_sub(slots.available_permits());
    tracing::info!(
        open = open(),
        deadline_seconds = limits.shutdown_deadline.as_secs_f64(),
        "stopping: no new connections; requests in flight may finish"
    );
    phase.send_replace(Phase::Draining);
    let all = limits.max_connections;
    let lead = UPLOAD_CUT_LEAD.min(limits.shutdown_deadline / 2);
    let closed = |wait| tokio::time::timeout(wait, slots.acquire_many(all));
    if closed(limits.shutdown_deadline - lead).await.is_ok() {
        return;
    }
    cut.cut();
    if closed(lead).await.is_ok() {
        return;
    }
    tracing::warn!(
        open = open(),
        "the shutdown deadline passed; closing the connections still open"
    );
    phase.send_replace(Phase::Closing);
    let _ = closed(CLOSE_GRACE).await;
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// HTTP/1.1 and h2c (prior knowledge), with hyper's header timeout.
fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// An accepted connection, before it is served.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    phase: watch::Receiver<Phase>,
}

impl Connection {
    /// Serves the connection while it holds `_slot`, until the client closes it, it idles
    /// out, or the server stops.
    async fn run(self, _slot: OwnedSemaphorePermit) {
        let Connection {
            stream,
            peer,
            app,
            builder,
            limits,
            mut phase,
        } = self;
        if *phase.borrow() != Phase::Serving {
            return;
        }
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let activity = activity.clone();
            hyper::service::service_fn(move |mut req: Request<Incoming>| {
                let handling = Handling::begin(&activity);
                req.extensions_mut().insert(ConnectInfo(peer));
                let app = app.clone();
                async move {
                    let response = app.oneshot(req).await;
                    let activity = handling.answered();
                    response.map(|response| {
                        response.map(|body| {
                            Body::new(Tracked {
                                inner: body,
                                activity,
                            })
                        })
                    })
                }
            })
        };
        let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
        let mut draining = false;
        loop {
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(err) = ended {
                        tracing::debug!(%err, %peer, "connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(activity.expires_at(&limits)) => {
                    if activity.expires_at(&limits) <= Instant::now() {
                        tracing::debug!(%peer, "closing a connection that timed out");
                        conn.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(CLOSE_GRACE, conn.as_mut()).await;
                        return;
                    }
                }
                changed = phase.changed() => {
                    match changed.map(|()| *phase.borrow()) {
                        Ok(Phase::Draining) if !draining => {
                            draining = true;
                            conn.as_mut().graceful_shutdown();
                        }
                        Ok(Phase::Serving | Phase::Draining) => {}
                        // The deadline passed (or the server is gone): close.
                        Ok(Phase::Closing) | Err(_) => return,
                    }
                }
            }
        }
    }
}

/// What a connection is doing, as far as its timeouts care.
struct Activity {
    opened: Instant,
    /// Whether any request has begun.
    began: AtomicBool,
    /// Requests whose handler has not answered yet.
    handling: AtomicUsize,
    /// The last sign of life, in milliseconds since `opened`: a request begun or answered,
    /// a piece of a response sent, a response done.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            began: AtomicBool::new(false),
            handling: AtomicUsize::new(0),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    /// When the connection times out if nothing happens before: the header timeout until a
    /// request begins; never while a handler runs (its request timeout bounds it; this
    /// answers a time to look again); else the idle timeout after the last sign of life.
    fn expires_at(&self, limits: &ConnectionLimits) -> Instant {
        if !self.began.load(Ordering::Relaxed) {
            return self.opened + limits.header_timeout;
        }
        if self.handling.load(Ordering::Relaxed) > 0 {
            return Instant::now() + limits.idle_timeout;
        }
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.opened + last + limits.idle_timeout
    }
}

/// A request whose handler has not answered yet.
struct Handling {
    activity: Arc<Activity>,
    answered: bool,
}

impl Handling {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.began.store(true, Ordering::Relaxed);
        activity.handling.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        Handling {
            activity: activity.clone(),
            answered: false,
        }
    }

    /// The handler answered: its response's body now keeps the connection alive.
    fn answered(mut self) -> Arc<Activity> {
        self.end();
        self.activity.clone()
    }

    fn end(&mut self) {
        if !self.answered {
            self.answered = true;
            self.activity.handling.fetch_sub(1, Ordering::Relaxed);
            self.activity.touch();
        }
    }
}

impl Drop for Handling {
    /// A handler dropped before it answered (its connection closed) ends too.
    fn drop(&mut self) {
        self.end();
    }
}

/// A response body that tells its connection each time a piece of it goes out.
struct Tracked {
    inner: Body,
    activity: Arc<Activity>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if polled.is_ready() {
            this.activity.touch();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.activity.touch();
    }
}
