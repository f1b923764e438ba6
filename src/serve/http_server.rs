//! The HTTP server: a task per connection, under a cap per listener and per address, with a
//! timeout for each request's head (which also closes idle keep-alive connections), for its
//! body, and for a connection that moves no byte while no request is being handled.
//!
//! A connection over a cap is answered 503 (the listener's cap) or 429 (the cap per address)
//! and closed at once; refusals and timeouts are counted in
//! `onewall_http_connections_refused_total{reason}` (`cap`, `per_peer`, `header_timeout`,
//! `body_timeout`, `idle_timeout`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use onewall_ingest::listen::PeerSlots;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;
use tracing::{debug, info, warn};

/// The limits of the HTTP server (`[http]`).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
}

fn count_refused(reason: &'static str) {
    metrics::counter!("onewall_http_connections_refused_total", "reason" => reason).increment(1);
}

/// Serve `app` on `listener` until `shutdown` turns true; then let open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let peers = PeerSlots::new(limits.max_connections_per_peer);
    let mut last_warning: Option<Instant> = None;
    let mut warn_now = move || {
        let now = Instant::now();
        let ready = last_warning.is_none_or(|at| now.duration_since(at) > Duration::from_secs(10));
        if ready {
            last_warning = Some(now);
        }
        ready
    };
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                if warn_now() {
                    warn!(error = %e, "http: accept failed");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            count_refused("cap");
            if warn_now() {
                warn!(
                    max = limits.max_connections,
                    "http: too many connections, refusing new ones"
                );
            }
            refuse(
                &stream,
                503,
                "Service Unavailable",
                "too many connections; try again",
            );
            continue;
        };
        let Some(peer_slot) = peers.take(peer.ip()) else {
            count_refused("per_peer");
            if warn_now() {
                warn!(%peer, max = limits.max_connections_per_peer,
                    "http: too many connections from one address, refusing new ones");
            }
            refuse(
                &stream,
                429,
                "Too Many Requests",
                "too many connections from this address",
            );
            continue;
        };
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, shutdown).await;
            drop(peer_slot);
            drop(permit);
        });
    }
    // Every connection gives its slot back when it ends.
    let _ = slots
        .acquire_many(u32::try_from(limits.max_connections).unwrap_or(u32::MAX))
        .await;
    info!("http server stopped");
}

/// Answer a refused connection without waiting on it, and close it.
fn refuse(stream: &TcpStream, status: u16, reason: &str, message: &str) {
    let body =
        serde_json::json!({"error": {"code": "unavailable", "message": message}}).to_string();
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Retry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// What a connection's watchdog reads: when a byte last moved, and how many requests (or
/// answers being produced) the node is working on.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
    /// The client closed its side.
    eof: AtomicBool,
}

impl Activity {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// The node is working on something for this connection while it lives.
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Self {
        a.busy.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(a))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
        busy: AtomicUsize::new(0),
        eof: AtomicBool::new(false),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let body_timeout = limits.body_timeout;
    let on_request = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let busy = Busy::new(&on_request);
        let answer_activity = Arc::clone(&on_request);
        async move {
            let mut req = req.map(|b| Body::new(TimedBody::new(b, body_timeout)));
            req.extensions_mut().insert(ConnectInfo(peer));
            let resp = match app.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            drop(busy);
            Ok::<_, Infallible>(resp.map(|b| Body::new(Answer::new(b, answer_activity))))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    let check_every = (limits.idle_timeout / 4).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                // Without a byte of a next head, hyper ends the connection quietly at the
                // head's timeout: the client neither closed it nor spoke since.
                let quiet = !activity.eof.load(Ordering::Relaxed)
                    && !stopping
                    && activity.quiet_for() >= limits.header_timeout.mul_f32(0.9);
                match done {
                    Err(e) if e.is_timeout() => {
                        count_refused("header_timeout");
                        debug!(%peer, "http: no request head in time, connection closed");
                    }
                    Err(e) => debug!(%peer, error = %e, "http connection ended"),
                    Ok(()) if quiet => {
                        count_refused("header_timeout");
                        debug!(%peer, "http: no request in time, connection closed");
                    }
                    Ok(()) => {}
                }
                return;
            }
            _ = shutdown.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(check_every) => {
                if activity.busy.load(Ordering::Relaxed) == 0
                    && activity.quiet_for() >= limits.idle_timeout
                {
                    count_refused("idle_timeout");
                    debug!(%peer, "http: connection idle, closed");
                    return;
                }
            }
        }
    }
}

/// The connection's socket, noting each byte that moves.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) {
            if buf.filled().len() > before {
                self.activity.touch();
            } else if buf.remaining() > 0 {
                self.activity.eof.store(true, Ordering::Relaxed);
            }
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body that must arrive within its time, counted from the request's head.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    expired: bool,
}

impl TimedBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        TimedBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limit)),
            limit,
            expired: false,
        }
    }
}

/// The body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?} (http.body_timeout_secs)")]
struct BodyTimeout(Duration);

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(axum::BoxError::from)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            count_refused("body_timeout");
            return Poll::Ready(Some(Err(BodyTimeout(self.limit).into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body: while the node is producing it (the body is waiting on the handler, not
/// on the client), the connection counts as busy, so a slow export is not taken for an idle
/// client.
struct Answer {
    inner: Body,
    activity: Arc<Activity>,
    producing: Option<Busy>,
}

impl Answer {
    fn new(inner: Body, activity: Arc<Activity>) -> Self {
        Answer {
            inner,
            activity,
            producing: None,
        }
    }
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if r.is_pending() {
            if self.producing.is_none() {
                self.producing = Some(Busy::new(&self.activity));
            }
        } else {
            self.producing = None;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Raise the soft limit of open files to the hard limit, so the connection caps, not the
/// process's file table, decide when connections are refused.
pub fn raise_open_files() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some() && limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => info!(from = ?limit.current, to = ?limit.maximum, "open files limit raised"),
            Err(e) => warn!(error = %e, soft = ?limit.current, hard = ?limit.maximum,
                "cannot raise the open files limit"),
        }
    }
}
