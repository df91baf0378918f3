//! `stripe-fake` command: starts the fake and prints `listening on http://ADDR` as the first line of
//! stdout, which tests and benchmark scripts parse.

#![forbid(unsafe_code)]

use std::io::Write;
use std::time::Duration;

use clap::Parser;
use stripe_fake::state::WebhookTarget;
use stripe_fake::{AccountConfig, Config, WebhookConfig};

/// A Stripe-compatible server on loopback for tests and benchmarks (see docs/stripe-fake.md).
#[derive(Parser, Debug)]
#[command(name = "stripe-fake", version)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Secret key(s) accepted (repeat for several accounts; `--webhook-url`/`--webhook-secret` apply to the
    /// first). Without any, every `sk_test_…` key is accepted.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// Webhook endpoint of the first account.
    #[arg(long, requires = "webhook_secret")]
    webhook_url: Option<String>,
    /// Webhook signing secret (`whsec_…`) of the first account.
    #[arg(long, requires = "webhook_url")]
    webhook_secret: Option<String>,
    /// Event types sent to the webhook endpoint (comma-separated); all when absent.
    #[arg(long, value_delimiter = ',')]
    enabled_events: Vec<String>,
    /// Also accept unknown `sk_test_…` keys when `--api-key` is given.
    #[arg(long)]
    accept_any_test_key: bool,
    /// Settle SEPA debits this many milliseconds after they went `processing` (otherwise only through
    /// `POST /_control/sepa/settle`).
    #[arg(long)]
    sepa_settle_after_ms: Option<u64>,
    /// Webhook retries after a failed delivery.
    #[arg(long, default_value_t = 3)]
    webhook_retries: u32,
    /// Delay before the first webhook retry, in milliseconds (doubled each time).
    #[arg(long, default_value_t = 200)]
    webhook_retry_delay_ms: u64,
    /// Webhook deliveries in flight at once.
    #[arg(long, default_value_t = 8)]
    webhook_concurrency: usize,
    /// Events waiting for delivery before API calls wait for room.
    #[arg(long, default_value_t = 10_000)]
    webhook_queue: usize,
    /// Keep only the newest N events per account (for `GET /v1/events/{id}` and `/_control/events`);
    /// all when absent. Delivery is unaffected.
    #[arg(long)]
    max_events: Option<usize>,
    /// Worker threads (the fake shares the machine with the code under test).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let webhook = match (args.webhook_url, args.webhook_secret) {
        (Some(url), Some(secret)) => Some(WebhookTarget {
            url,
            secret,
            enabled_events: args.enabled_events,
        }),
        _ => None,
    };
    let accounts: Vec<AccountConfig> = args
        .api_keys
        .iter()
        .enumerate()
        .map(|(i, key)| AccountConfig {
            api_key: key.clone(),
            webhook: if i == 0 { webhook.clone() } else { None },
        })
        .collect();
    let config = Config {
        accept_any_test_key: accounts.is_empty() || args.accept_any_test_key,
        accounts,
        sepa_settle_after: args.sepa_settle_after_ms.map(Duration::from_millis),
        max_events: args.max_events,
        webhooks: WebhookConfig {
            retries: args.webhook_retries,
            retry_delay: Duration::from_millis(args.webhook_retry_delay_ms),
            concurrency: args.webhook_concurrency,
            queue_capacity: args.webhook_queue,
            ..WebhookConfig::default()
        },
    };
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let handle = stripe_fake::serve(listener, config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{}", handle.addr)?;
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
