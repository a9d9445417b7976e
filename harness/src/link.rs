//! How synthetic users' actions reach the mock's control API. `tgload run` starts the mock in its own process,
//! so by default an action is a request handed straight to the mock's router (`mock_telegram::app`), with no
//! socket, HTTP/2 framing or thread hand-off between; a mock elsewhere is reached over HTTP/2 (h2c). Either
//! way it is the same request to the same route and the same reply: only the transport differs.
//!
//! It carries bytes; the action's and the reply's shapes are `control`'s.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request};
use bytes::Bytes;
use tower::ServiceExt;

/// Where actions go.
pub enum Link {
    /// The in-process mock's router, called as a service.
    InProcess { router: axum::Router, path: String, timeout: Duration },
    /// A mock reached over the network: one HTTP/2 client multiplexes every waiting user.
    Network { client: reqwest::Client, url: String },
}

/// A reply's status and whole body.
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Link {
    /// The in-process mock's `router`, with `path` the actions route (`/control/bots/{token}/actions`). A
    /// request still waiting after `timeout` fails, as one over the network would.
    pub fn in_process(router: axum::Router, path: String, timeout: Duration) -> Link {
        Link::InProcess { router, path, timeout }
    }

    /// A mock at `url` (its actions route), over one HTTP/2 connection (h2c, prior knowledge).
    pub fn network(url: String, timeout: Duration) -> Result<Link, String> {
        let client = http2_client(timeout)?;
        Ok(Link::Network { client, url })
    }

    /// Posts a JSON body and reads the whole reply (always: an unread body would reset an h2 stream).
    pub async fn post(&self, body: Vec<u8>) -> Result<Reply, String> {
        match self {
            Link::InProcess { router, path, timeout } => {
                let request = Request::post(path.as_str())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .map_err(|e| format!("cannot build the request: {e}"))?;
                let answered = async {
                    let Ok(response) = router.clone().oneshot(request).await;
                    let status = response.status().as_u16();
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
                    body.map(|body| Reply { status, body }).map_err(|e| format!("reading the reply failed: {e}"))
                };
                tokio::time::timeout(*timeout, answered)
                    .await
                    .map_err(|_| format!("request failed: no reply within {timeout:?}"))?
            }
            Link::Network { client, url } => {
                let response = client
                    .post(url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("request failed: {e}"))?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(|e| format!("reading the reply failed: {e}"))?;
                Ok(Reply { status, body })
            }
        }
    }
}

/// The HTTP/2 client (h2c, prior knowledge) that multiplexes every waiting user over one connection; goose's
/// users hold it too.
pub fn http2_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .tcp_nodelay(true)
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the http/2 client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

    #[tokio::test]
    async fn an_in_process_post_reaches_the_route_and_brings_back_status_and_body() {
        let router = axum::Router::new()
            .route("/echo", post(|body: Bytes| async move { (axum::http::StatusCode::CONFLICT, body) }));
        let link = Link::in_process(router, "/echo".into(), Duration::from_secs(1));
        let reply = link.post(br#"{"a":1}"#.to_vec()).await.unwrap();
        assert_eq!((reply.status, &reply.body[..]), (409, &br#"{"a":1}"#[..]));
        let missing = Link::in_process(axum::Router::new(), "/nowhere".into(), Duration::from_secs(1));
        assert_eq!(missing.post(Vec::new()).await.unwrap().status, 404);
    }

    /// The same route, served on a socket, over HTTP/2: the same reply.
    #[tokio::test]
    async fn a_network_post_brings_back_the_same_reply() {
        let router = axum::Router::new()
            .route("/echo", post(|body: Bytes| async move { (axum::http::StatusCode::CONFLICT, body) }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/echo", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let link = Link::network(url, Duration::from_secs(5)).unwrap();
        let reply = link.post(br#"{"a":1}"#.to_vec()).await.unwrap();
        assert_eq!((reply.status, &reply.body[..]), (409, &br#"{"a":1}"#[..]));
    }
}
