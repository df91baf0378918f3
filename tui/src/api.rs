//! The HTTP client: the only way the console reaches data. The tenant is chosen by the Host header, so requests
//! go to `http://<tenant>.localhost:<port>` with that name resolved to the server's own address.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A failed call, with the text the status bar shows.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a problem document.
    #[error("{status}: {title}{code}")]
    Problem {
        /// HTTP status.
        status: StatusCode,
        /// `title` or `detail` of the problem.
        title: String,
        /// ` (code)` when the problem has a stable code.
        code: String,
    },
    /// The request did not complete.
    #[error("network: {0}")]
    Network(#[from] reqwest::Error),
    /// Bad `--server` value.
    #[error("bad server URL: {0}")]
    Url(String),
}

impl ApiError {
    /// Whether this is a 403 (shown as "not allowed").
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Problem { status, .. } if *status == StatusCode::FORBIDDEN)
    }

    /// Whether this is a 404 (the API hides what the caller may not see).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Problem { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

/// Access and refresh tokens, and when to refresh.
#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: String,
    refresh_at: Instant,
}

/// A logged-in (or not yet) client for one tenant.
pub struct Api {
    http: reqwest::Client,
    base: String,
    addr: SocketAddr,
    tokens: Option<Tokens>,
}

impl Api {
    /// Builds the client for `server` (e.g. `http://127.0.0.1:8080`) and tenant `slug`.
    pub fn new(server: &str, slug: &str) -> Result<Self, ApiError> {
        let rest = server
            .strip_prefix("http://")
            .ok_or_else(|| ApiError::Url(format!("{server} (only http:// is supported)")))?
            .trim_end_matches('/');
        let addr: SocketAddr = rest
            .to_socket_addrs()
            .map_err(|e| ApiError::Url(format!("{server}: {e}")))?
            .next()
            .ok_or_else(|| ApiError::Url(server.to_string()))?;
        let host = format!("{slug}.localhost");
        let http = reqwest::Client::builder()
            .resolve(&host, addr)
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self {
            http,
            base: format!("http://{host}:{}", addr.port()),
            addr,
            tokens: None,
        })
    }

    /// `POST /api/v1/auth/token`.
    pub async fn login(&mut self, email: &str, password: &str) -> Result<(), ApiError> {
        let body = json!({"email": email, "password": password});
        let pair = self
            .send(Method::POST, "/api/v1/auth/token", Some(&body), false)
            .await?;
        self.store(&pair);
        Ok(())
    }

    fn store(&mut self, pair: &Value) {
        let expires = pair["expires_in"].as_u64().unwrap_or(60);
        self.tokens = Some(Tokens {
            access: pair["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            refresh: pair["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            // Refresh at 80 % of the lifetime so a request never carries an expired token.
            refresh_at: Instant::now() + Duration::from_secs(expires * 4 / 5),
        });
    }

    /// `POST /api/v1/auth/refresh`; the refresh token is single-use, so the new pair replaces the old.
    async fn refresh(&mut self) -> Result<(), ApiError> {
        let Some(tokens) = &self.tokens else {
            return Ok(());
        };
        let body = json!({"refresh_token": tokens.refresh});
        let pair = self
            .send(Method::POST, "/api/v1/auth/refresh", Some(&body), false)
            .await?;
        self.store(&pair);
        Ok(())
    }

    /// The server's address, and the brand's `host:port` for the Host header (the live stream connects there).
    pub fn endpoint(&self) -> (SocketAddr, String) {
        (
            self.addr,
            self.base.trim_start_matches("http://").to_owned(),
        )
    }

    /// A current access token, refreshed first when due; `None` before login.
    pub async fn access_token(&mut self) -> Result<Option<String>, ApiError> {
        if self
            .tokens
            .as_ref()
            .is_some_and(|t| Instant::now() >= t.refresh_at)
        {
            self.refresh().await?;
        }
        Ok(self.tokens.as_ref().map(|t| t.access.clone()))
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<Value, ApiError> {
        self.call(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// An authenticated call: refreshes before expiry, and once more on a 401.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        if self
            .tokens
            .as_ref()
            .is_some_and(|t| Instant::now() >= t.refresh_at)
        {
            self.refresh().await?;
        }
        match self.send(method.clone(), path, body, true).await {
            Err(ApiError::Problem { status, .. })
                if status == StatusCode::UNAUTHORIZED && self.tokens.is_some() =>
            {
                self.refresh().await?;
                self.send(method, path, body, true).await
            }
            other => other,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        auth: bool,
    ) -> Result<Value, ApiError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if auth {
            if let Some(t) = &self.tokens {
                request = request.bearer_auth(&t.access);
            }
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let title = value["detail"]
            .as_str()
            .or_else(|| value["title"].as_str())
            .unwrap_or(status.canonical_reason().unwrap_or("error"))
            .to_string();
        let code = value["code"]
            .as_str()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        Err(ApiError::Problem {
            status,
            title,
            code,
        })
    }
}

/// The rows of a list answer: a bare array or a page `{data: [...]}`.
pub fn rows(value: Value) -> Vec<Value> {
    match value {
        Value::Array(rows) => rows,
        Value::Object(mut map) => match map.remove("data") {
            Some(Value::Array(rows)) => rows,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
