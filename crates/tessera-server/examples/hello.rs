//! The baseline of `scripts/bench/api.sh`: a bare axum "hello" handler on the same runtime and machine, so that
//! Tessera's `GET /api/v1/me` can be reported as a share of what axum alone does.
#![forbid(unsafe_code)]

use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = axum::Router::new().route("/hello", get(|| async { "hello" }));
    axum::serve(listener, app).await
}
