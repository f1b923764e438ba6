//! Making one delivery: email through SMTP (lettre), webhooks and robots, escalation to the
//! parent node. An `Ok` means the SMTP server accepted the mail or the receiver answered 2xx
//! (and, for robots, reported success in its body).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::outbox::{MailFile, Payload};
use crate::playbook::WebhookFormat;
use crate::sign;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a trusted local relay only).
    None,
    /// STARTTLS, required (port 587).
    StartTls,
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// TLS from the first byte (port 465).
    Wrapper,
}

impl SmtpTls {
    /// Read `none`, `starttls`, `opportunistic` or `tls`.
    pub fn parse(s: &str) -> Option<SmtpTls> {
        match s {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "opportunistic" => Some(SmtpTls::Opportunistic),
            "tls" => Some(SmtpTls::Wrapper),
            _ => None,
        }
    }
}

/// The SMTP server mail goes through.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Server host name (also the name its certificate must carry).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Connection security.
    pub tls: SmtpTls,
    /// User name for AUTH; empty: no authentication.
    pub username: String,
    /// Password for AUTH.
    pub password: String,
    /// The From address, e.g. `onewall <soc@example.org>`.
    pub from: Mailbox,
    /// Extra CA certificates (PEM) to trust for the server, beside the public roots.
    pub ca_file: Option<PathBuf>,
}

/// Where escalations go: the parent node.
#[derive(Debug, Clone)]
pub struct EscalateSettings {
    /// The URL posted to.
    pub url: String,
    /// Bearer token for the parent, if any.
    pub token: String,
}

/// Makes deliveries.
#[derive(Debug, Clone)]
pub struct Sender {
    /// SMTP, when configured; email deliveries fail (and are retried) without it.
    pub smtp: Option<SmtpSettings>,
    /// The parent node, when configured.
    pub escalate: Option<EscalateSettings>,
    /// Where the daily report goes to the parent (its `POST /api/v1/reports`), when it does.
    pub report_to: Option<EscalateSettings>,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Sender {
    /// Make one attempt.
    pub async fn send(&self, payload: &Payload) -> Result<(), String> {
        match payload {
            Payload::Email {
                to,
                cc,
                subject,
                body,
                html,
                attachments,
            } => {
                let mail = Mail {
                    to,
                    cc,
                    subject,
                    body,
                    html: html.as_deref(),
                    attachments,
                };
                self.email(&mail).await
            }
            Payload::Webhook {
                url,
                format,
                secret,
                text,
                json,
                mention,
            } => {
                let mut request = webhook_request(url, *format, secret, text, json, now_ms())?;
                if !mention.is_empty() {
                    request.body = with_mentions(*format, &request.body, mention);
                }
                let format = *format;
                let timeout = self.timeout;
                blocking(move || post(&request, timeout, format)).await
            }
            Payload::Escalate { json } | Payload::Report { json } => {
                let target = match payload {
                    Payload::Report { .. } => self.report_to.clone(),
                    _ => self.escalate.clone(),
                };
                let Some(esc) = target else {
                    return Err(match payload {
                        Payload::Report { .. } => {
                            "playbooks.report.parent_url is not set: no parent node to report to"
                        }
                        _ => "playbooks.escalate_url is not set: no parent node to escalate to",
                    }
                    .into());
                };
                let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
                if !esc.token.is_empty() {
                    headers.push(("Authorization".into(), format!("Bearer {}", esc.token)));
                }
                let request = Request {
                    url: esc.url,
                    headers,
                    body: json.to_string().into_bytes(),
                };
                let timeout = self.timeout;
                blocking(move || post(&request, timeout, WebhookFormat::Generic)).await
            }
        }
    }

    async fn email(&self, mail: &Mail<'_>) -> Result<(), String> {
        let Some(smtp) = &self.smtp else {
            return Err("playbooks.smtp.host is not set: email cannot be sent".into());
        };
        let mut b = Message::builder()
            .from(smtp.from.clone())
            .subject(mail.subject);
        for t in mail.to {
            b = b.to(t.parse::<Mailbox>().map_err(|e| format!("to {t:?}: {e}"))?);
        }
        for t in mail.cc {
            b = b.cc(t.parse::<Mailbox>().map_err(|e| format!("cc {t:?}: {e}"))?);
        }
        let message = if mail.html.is_none() && mail.attachments.is_empty() {
            b.header(ContentType::TEXT_PLAIN).body(mail.body.to_owned())
        } else {
            b.multipart(multipart(mail)?)
        }
        .map_err(|e| format!("building the message: {e}"))?;
        let transport = self.transport(smtp).await?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("smtp {}:{}: {e}", smtp.host, smtp.port))
    }

    async fn transport(
        &self,
        smtp: &SmtpSettings,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(smtp.host.clone());
            if let Some(ca) = &smtp.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("playbooks.smtp.ca_file {}: {e}", ca.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("playbooks.smtp.ca_file {}: {e}", ca.display()))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("smtp tls: {e}"))
        };
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(params()?),
            SmtpTls::Opportunistic => Tls::Opportunistic(params()?),
            SmtpTls::Wrapper => Tls::Wrapper(params()?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if !smtp.username.is_empty() {
            b = b.credentials(Credentials::new(
                smtp.username.clone(),
                smtp.password.clone(),
            ));
        }
        Ok(b.build())
    }
}

/// A mail to send, as the outbox holds it.
struct Mail<'a> {
    to: &'a [String],
    cc: &'a [String],
    subject: &'a str,
    body: &'a str,
    html: Option<&'a str>,
    attachments: &'a [MailFile],
}

/// The body of a mail with an HTML alternative or attachments: `multipart/mixed` of the text
/// (and its HTML alternative) and each file.
fn multipart(mail: &Mail<'_>) -> Result<MultiPart, String> {
    use base64::Engine as _;
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.to_owned());
    let mut mixed = match mail.html {
        Some(html) => MultiPart::mixed().multipart(
            MultiPart::alternative().singlepart(text).singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.to_owned()),
            ),
        ),
        None => MultiPart::mixed().singlepart(text),
    };
    for f in mail.attachments {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&f.content_base64)
            .map_err(|e| format!("attachment {:?}: {e}", f.name))?;
        let media = ContentType::parse(&f.media_type).map_err(|e| {
            format!(
                "attachment {:?}: media type {:?}: {e}",
                f.name, f.media_type
            )
        })?;
        mixed = mixed.singlepart(Attachment::new(f.name.clone()).body(bytes, media));
    }
    Ok(mixed)
}

/// A robot message's body with `phones` mentioned: DingTalk's `at.atMobiles` (and `@phone` in
/// the text, which DingTalk needs to highlight them), WeCom's `text.mentioned_mobile_list`.
pub fn with_mentions(format: WebhookFormat, body: &[u8], phones: &[String]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    match format {
        WebhookFormat::Dingtalk => {
            let ats: String = phones.iter().map(|p| format!(" @{p}")).collect();
            if let Some(t) = v["text"]["content"].as_str() {
                v["text"]["content"] = format!("{t}\n{}", ats.trim_start()).into();
            }
            v["at"] = serde_json::json!({"atMobiles": phones, "isAtAll": false});
        }
        WebhookFormat::Wecom => {
            v["text"]["mentioned_mobile_list"] = serde_json::json!(phones);
        }
        WebhookFormat::Generic | WebhookFormat::Feishu => return body.to_vec(),
    }
    v.to_string().into_bytes()
}

fn now_ms() -> i64 {
    onewall_model::Timestamp::now().millis()
}

async fn blocking<F>(f: F) -> Result<(), String>
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("delivery task failed: {e}"))?
}

/// An HTTP request to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Full URL, with any signing query added.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

/// Build the request a webhook of `format` sends, signed at `now_ms` where the format signs.
pub fn webhook_request(
    url: &str,
    format: WebhookFormat,
    secret: &str,
    text: &str,
    json: &serde_json::Value,
    now_ms: i64,
) -> Result<Request, String> {
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let mut url = url.to_owned();
    let body = match format {
        WebhookFormat::Generic => {
            let body = json.to_string().into_bytes();
            if !secret.is_empty() {
                headers.push((
                    sign::SIGNATURE_HEADER.into(),
                    sign::generic_signature(secret, &body),
                ));
            }
            body
        }
        WebhookFormat::Dingtalk => {
            if !secret.is_empty() {
                let s = sign::dingtalk_sign(secret, now_ms);
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{sep}timestamp={now_ms}&sign={}", sign::url_encode(&s));
            }
            serde_json::json!({"msgtype": "text", "text": {"content": text}})
                .to_string()
                .into_bytes()
        }
        WebhookFormat::Wecom => serde_json::json!({"msgtype": "text", "text": {"content": text}})
            .to_string()
            .into_bytes(),
        WebhookFormat::Feishu => {
            let mut body = serde_json::json!({"msg_type": "text", "content": {"text": text}});
            if !secret.is_empty() {
                let ts = now_ms.div_euclid(1000);
                body["timestamp"] = ts.to_string().into();
                body["sign"] = sign::feishu_sign(secret, ts).into();
            }
            body.to_string().into_bytes()
        }
    };
    Ok(Request { url, headers, body })
}

/// Post and judge the answer: 2xx, and for robots a zero `errcode` / `code` in the body.
/// Redirects are not followed (a 3xx fails the delivery). The receiver's body never goes into
/// the error (which API readers see): a bounded, sanitised excerpt of it is logged instead.
fn post(req: &Request, timeout: Duration, format: WebhookFormat) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut r = agent.post(&req.url);
    for (k, v) in &req.headers {
        r = r.header(k, v);
    }
    let shown = without_query(&req.url);
    let mut resp = r
        .send(&req.body[..])
        .map_err(|e| format!("post {shown}: {e}"))?;
    let status = resp.status();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    if !status.is_success() {
        tracing::warn!(url = %shown, status = status.as_u16(), body = %excerpt(&body),
            "playbooks: the receiver refused a delivery");
        let code = status.as_u16();
        let reason = status.canonical_reason().unwrap_or("");
        let mut e = format!("post {shown}: receiver answered HTTP {code} {reason}");
        if status.is_redirection() {
            e.push_str(" (redirects are not followed)");
        }
        return Err(e);
    }
    if format != WebhookFormat::Generic {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let code = v
            .get("errcode")
            .or_else(|| v.get("code"))
            .or_else(|| v.get("StatusCode"))
            .and_then(|c| c.as_i64())
            .unwrap_or(0);
        if code != 0 {
            tracing::warn!(url = %shown, code, body = %excerpt(&body),
                "playbooks: a robot refused a delivery");
            // The robot's own short reason (`errmsg` / `msg`), bounded; not its whole answer.
            let reason = v
                .get("errmsg")
                .or_else(|| v.get("msg"))
                .and_then(|m| m.as_str())
                .map(|m| excerpt(m).chars().take(REASON_CHARS).collect::<String>())
                .unwrap_or_default();
            return Err(format!(
                "post {shown}: {} robot refused the message: code {code} ({reason})",
                format.as_str(),
            ));
        }
    }
    Ok(())
}

/// A URL without its query (robot URLs carry their keys there).
pub fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(a, _)| a)
}

/// Characters of a robot's reason (`errmsg`) a delivery error keeps at most.
const REASON_CHARS: usize = 80;

/// Characters of a receiver's answer a log line carries at most.
const EXCERPT_CHARS: usize = 200;

/// A receiver's answer as a log line may carry it: control characters (line breaks, escape
/// sequences) dropped, at most [`EXCERPT_CHARS`] characters.
fn excerpt(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(EXCERPT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_requests_carry_their_signatures() {
        let j = serde_json::json!({"kind": "x"});
        let d = webhook_request(
            "http://h/robot/send?access_token=t",
            WebhookFormat::Dingtalk,
            "SEC1",
            "告警",
            &j,
            1_700_000_000_123,
        )
        .unwrap();
        assert!(
            d.url
                .starts_with("http://h/robot/send?access_token=t&timestamp=1700000000123&sign="),
            "{}",
            d.url
        );
        let body: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["text"]["content"], "告警");
        let f = webhook_request(
            "http://h/hook/x",
            WebhookFormat::Feishu,
            "s",
            "告警",
            &j,
            1_700_000_000_123,
        )
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&f.body).unwrap();
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], sign::feishu_sign("s", 1_700_000_000));
        assert_eq!(body["content"]["text"], "告警");
        let g = webhook_request("http://h/x", WebhookFormat::Generic, "k", "", &j, 0).unwrap();
        assert_eq!(g.body, br#"{"kind":"x"}"#);
        assert!(g.headers.iter().any(
            |(k, v)| k == sign::SIGNATURE_HEADER && *v == sign::generic_signature("k", &g.body)
        ));
        assert_eq!(without_query("http://h/send?key=secret"), "http://h/send");
    }

    #[test]
    fn log_excerpts_are_bounded_and_carry_no_control_characters() {
        let answer = format!("line\r\nforged: entry\u{1b}[31m{}", "x".repeat(500));
        let e = excerpt(&answer);
        assert_eq!(e.chars().count(), EXCERPT_CHARS);
        assert!(e.starts_with("lineforged: entry[31mxx"), "{e}");
        assert!(!e.chars().any(char::is_control));
    }
}
