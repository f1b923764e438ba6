//! What a playbook's mail carries beyond its text: the people on duty among its recipients, a
//! scheduled report's HTML and .docx.

use onewall_model::supervise::OnDuty;

use crate::outbox::MailFile;
use crate::playbook::ON_DUTY;
use crate::subject::Subject;

/// A mail's recipients: the addresses written, with [`ON_DUTY`] replaced by the email of each
/// person on duty (once each).
pub(super) fn recipients(to: &[String], on_duty: &[OnDuty]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in to {
        if t == ON_DUTY {
            for p in on_duty.iter().filter(|p| !p.email.is_empty()) {
                if !out.contains(&p.email) {
                    out.push(p.email.clone());
                }
            }
        } else if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// What a mail about `subject` carries besides its text: a scheduled report's HTML page as the
/// body's alternative and its .docx attached.
pub(super) fn mail_files(subject: &Subject<'_>) -> (Option<String>, Vec<MailFile>) {
    use base64::Engine as _;
    let Subject::Ready(r) = subject else {
        return (None, Vec::new());
    };
    let file = MailFile {
        name: format!("onewall-{}-{}-{}.docx", r.kind, r.region, r.label),
        media_type: DOCX_MEDIA_TYPE.into(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(&*r.docx),
    };
    (Some((*r.html).clone()), vec![file])
}

/// The media type of a Word document (.docx).
pub const DOCX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
