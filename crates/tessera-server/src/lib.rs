//! Tessera's HTTP server (axum): the tenant is resolved from the `Host` header, requests are authenticated with
//! bearer JWTs, handlers parse and call one service of `tessera-app`, and errors leave as
//! `application/problem+json`. Every route is registered through `utoipa-axum`, so the OpenAPI document served at
//! `/api/v1/openapi.json` lists exactly the routes that exist.
#![forbid(unsafe_code)]

mod extract;
mod host;
mod idempotent;
mod layers;
mod metrics;
mod openapi;
pub mod problem;
mod routes;

use std::net::SocketAddr;
use std::time::Duration;

use tessera_app::App;
use tokio::net::TcpListener;

pub use openapi::api_document;

/// Builds the whole application: routes, OpenAPI, docs page and middleware.
pub fn router(app: App) -> axum::Router {
    let (api, document) = routes::api_router().split_for_parts();
    let document = std::sync::Arc::new(document);
    let http_metrics = std::sync::Arc::new(metrics::HttpMetrics::new());
    let api = api
        .route_layer(axum::middleware::from_fn_with_state(
            http_metrics.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(http_metrics))
        .merge(routes::docs::router(document))
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(problem::method_not_allowed_fallback)
        .with_state(app.clone());
    layers::apply(api, app)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish for up to the configured grace
/// period. Also keeps tenants and signing keys fresh while it runs.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let refresher = tokio::spawn(refresh_loop(app.clone()));
    app.preload_door_memory();
    let grace = Duration::from_secs(app.settings().server.shutdown_grace_secs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..app.settings().jobs.workers_in_server)
        .map(|_| {
            let (app, stop) = (app.clone(), stop_rx.clone());
            tokio::spawn(async move { app.run_worker(stop).await })
        })
        .collect();
    let scheduler = {
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move { app.run_scheduler(stop).await })
    };
    let checkpointer = {
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move { app.run_checkpointer(stop).await })
    };
    let feeder = match app.start_event_feeder(stop_rx.clone()).await {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::error!(%error, "live events are off");
            None
        }
    };
    let server = axum::serve(
        listener,
        router(app.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests and jobs");
        let _ = stop_tx.send(true);
    });
    let mut stop_rx_for_deadline = stop_rx.clone();
    let result = tokio::select! {
        result = server => result,
        () = async move {
            let _ = stop_rx_for_deadline.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("grace period over: closing remaining connections");
            Ok(())
        }
    };
    // Doors were answered before their decisions were written: write them before exiting.
    app.write_door_records(grace).await;
    // Workers finish the job in hand (a job cut short is run again after its lease).
    let _ = tokio::time::timeout(grace, futures::future::join_all(workers)).await;
    scheduler.abort();
    checkpointer.abort();
    refresher.abort();
    drop(stop_rx);
    // The feeder sees the stop flag within one poll; nothing waits on it.
    drop(feeder);
    result
}

/// Runs job workers only (`tessera worker`), until `shutdown` resolves; the job in hand is finished first.
pub async fn work(app: App, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
    let refresher = tokio::spawn(refresh_loop(app.clone()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..app.settings().jobs.workers.max(1))
        .map(|_| {
            let (app, stop) = (app.clone(), stop_rx.clone());
            tokio::spawn(async move { app.run_worker(stop).await })
        })
        .collect();
    let scheduler = {
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move { app.run_scheduler(stop).await })
    };
    shutdown.await;
    tracing::info!("stopping job workers");
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(app.settings().server.shutdown_grace_secs);
    let _ = tokio::time::timeout(grace, futures::future::join_all(workers)).await;
    scheduler.abort();
    refresher.abort();
}

async fn refresh_loop(app: App) {
    let every = Duration::from_secs(app.settings().server.tenant_refresh_secs.max(1));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = app.refresh().await {
            tracing::warn!(%error, "could not refresh tenants and keys");
        }
    }
}
