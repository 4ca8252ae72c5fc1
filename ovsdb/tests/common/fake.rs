//! A stand-in OVSDB server on a unix socket, scripted per request, for what
//! a real ovsdb-server never does: flood, send garbage, hang up mid-request.

use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::TempDir;

/// What the stand-in does with one request.
pub enum Answer {
    /// Replies with this result (and the request's id).
    Result(Json),
    /// Writes these bytes as they are.
    Raw(Vec<u8>),
    /// Writes `head`, then `body` again and again until the client hangs up.
    Endless {
        /// Written once, first.
        head: Vec<u8>,
        /// Repeated forever.
        body: Vec<u8>,
    },
    /// Closes the connection.
    HangUp,
}

/// The stand-in: serves one connection until dropped.
pub struct FakeServer {
    /// Its `unix:` remote.
    pub remote: String,
    task: JoinHandle<()>,
    _dir: TempDir,
}

impl FakeServer {
    /// Listens on a fresh socket and answers each request of the first
    /// connection with `script(method, request)`.
    pub fn start(script: impl FnMut(&str, &Json) -> Answer + Send + 'static) -> FakeServer {
        let dir = TempDir::new("fake");
        let path = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            serve(stream, script).await;
        });
        FakeServer {
            remote: format!("unix:{}", path.display()),
            task,
            _dir: dir,
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads requests from `stream` and acts on each; returns when the client
/// hangs up or the script says to. For tests that accept connections
/// themselves.
pub async fn serve(mut stream: UnixStream, mut script: impl FnMut(&str, &Json) -> Answer) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        for request in take_requests(&mut buf) {
            let method = request["method"].as_str().unwrap_or_default().to_string();
            let written = match script(&method, &request) {
                Answer::Result(result) => {
                    let reply = json!({"result": result, "error": null, "id": request["id"]});
                    stream.write_all(reply.to_string().as_bytes()).await
                }
                Answer::Raw(bytes) => stream.write_all(&bytes).await,
                Answer::Endless { head, body } => {
                    let _ = stream.write_all(&head).await;
                    // Only the client closing the connection stops this.
                    while stream.write_all(&body).await.is_ok() {}
                    return;
                }
                Answer::HangUp => return,
            };
            if written.is_err() {
                return;
            }
        }
    }
}

/// The complete requests at the front of `buf`, removed from it.
fn take_requests(buf: &mut Vec<u8>) -> Vec<Json> {
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Json>();
    let mut requests = Vec::new();
    while let Some(Ok(request)) = stream.next() {
        requests.push(request);
    }
    let consumed = stream.byte_offset();
    buf.drain(..consumed);
    requests
}
