//! The HTTP side of a scrape: one client per job (TLS, compression, redirects) and a
//! GET with Prometheus' headers, authentication, timeout and body size limit.

use std::time::Duration;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};

use crate::config::ScrapeConfig;

/// What a successful fetch returns.
pub struct Fetched {
    /// The (decompressed) body.
    pub body: Vec<u8>,
    /// The response's Content-Type, empty when absent.
    pub content_type: String,
}

/// A job's HTTP client and the per-request settings derived from its configuration.
pub struct JobClient {
    client: Result<reqwest::Client, String>,
    accept: String,
    cfg: ScrapeConfig,
}

/// Prometheus' `Accept` header for a list of protocols: each media type with a
/// decreasing weight, then `*/*` as the last resort.
pub fn accept_header(cfg: &ScrapeConfig) -> String {
    let mut weight = 6;
    let mut parts = Vec::new();
    for p in cfg.protocols() {
        if let Some(mt) = p.media_type() {
            parts.push(format!("{mt};q=0.{weight}"));
            weight -= 1;
        }
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

fn read_secret(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|e| format!("reading {}: {e}", path.display()))
}

fn build_client(cfg: &ScrapeConfig) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .gzip(cfg.enable_compression)
        .redirect(if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    if let Some(tls) = &cfg.tls_config {
        if tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &tls.ca_file {
            let pem =
                std::fs::read(ca).map_err(|e| format!("reading ca_file {}: {e}", ca.display()))?;
            for c in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("parsing ca_file {}: {e}", ca.display()))?
            {
                b = b.add_root_certificate(c);
            }
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            let mut pem = std::fs::read(cert)
                .map_err(|e| format!("reading cert_file {}: {e}", cert.display()))?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key)
                    .map_err(|e| format!("reading key_file {}: {e}", key.display()))?,
            );
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("loading client certificate: {e}"))?;
            b = b.identity(id);
        }
        if tls.server_name.is_some() {
            tracing::warn!(job = %cfg.job_name, "tls_config.server_name is not supported and is ignored");
        }
    }
    b.build().map_err(|e| format!("building HTTP client: {e}"))
}

impl JobClient {
    /// Builds the client; a failure (unreadable CA file, …) is reported by every
    /// scrape of the job rather than stopping the others.
    pub fn new(cfg: &ScrapeConfig) -> Self {
        JobClient {
            client: build_client(cfg),
            accept: accept_header(cfg),
            cfg: cfg.clone(),
        }
    }

    fn authorization(&self) -> Result<Option<String>, String> {
        let c = &self.cfg;
        if let Some(a) = &c.authorization {
            let cred = match (&a.credentials, &a.credentials_file) {
                (Some(s), _) => s.clone(),
                (None, Some(f)) => read_secret(f)?,
                (None, None) => String::new(),
            };
            return Ok(Some(format!("{} {cred}", a.auth_type)));
        }
        if let Some(t) = &c.bearer_token {
            return Ok(Some(format!("Bearer {t}")));
        }
        if let Some(f) = &c.bearer_token_file {
            return Ok(Some(format!("Bearer {}", read_secret(f)?)));
        }
        Ok(None)
    }

    /// GETs `url` within `timeout`, reading at most `body_size_limit` bytes.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, String> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let mut req = client
            .get(url)
            .header(ACCEPT, &self.accept)
            .header(USER_AGENT, concat!("Sightline/", env!("CARGO_PKG_VERSION")))
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        if !self.cfg.enable_compression {
            req = req.header(ACCEPT_ENCODING, "identity");
        }
        if let Some(ba) = &self.cfg.basic_auth {
            let pw = match (&ba.password, &ba.password_file) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(f)) => Some(read_secret(f)?),
                _ => None,
            };
            req = req.basic_auth(&ba.username, pw);
        } else if let Some(h) = self.authorization()? {
            req = req.header(AUTHORIZATION, h);
        }
        let limit = self
            .cfg
            .body_size_limit
            .map(|b| b.0)
            .filter(|&b| b > 0)
            .unwrap_or(u64::MAX);
        let work = async {
            let mut resp = req.send().await.map_err(describe)?;
            let status = resp.status();
            if status != reqwest::StatusCode::OK {
                return Err(format!(
                    "server returned HTTP status {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim_end()
                .to_string());
            }
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(describe)? {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(format!("body size limit exceeded: more than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched { body, content_type })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "scrape timed out after {}",
                sightline_model::PromDuration(timeout)
            )),
        }
    }
}

/// reqwest's top-level message hides the cause ("error sending request"); include
/// the chain so `last_error` says "connection refused" and the like.
fn describe(e: reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScrapeProtocol;

    #[test]
    fn accept_header_prefers_openmetrics() {
        let c = ScrapeConfig::new("j");
        assert_eq!(
            accept_header(&c),
            "application/openmetrics-text;version=1.0.0;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        let mut c = ScrapeConfig::new("j");
        c.scrape_protocols = Some(vec![ScrapeProtocol::PrometheusText0_0_4]);
        assert_eq!(
            accept_header(&c),
            "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
        );
    }
}
