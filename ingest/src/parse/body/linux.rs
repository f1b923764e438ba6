//! Linux authentication messages: sshd, PAM (`pam_unix(sshd:auth): ...`), su, sudo, cron,
//! login, useradd/usermod/userdel/groupadd/passwd, ftpd and klogind connections. Sets
//! `source.ip`, `source.port`, `user.name`, `event.action` and `event.outcome`.

use super::out::{Out, ecs};

const PROGRAMS: [&str; 18] = [
    "sshd", "su", "sudo", "cron", "crond", "CRON", "login", "gdm", "useradd", "userdel", "usermod",
    "groupadd", "groupdel", "passwd", "chpasswd", "ftpd", "klogind", "vsftpd",
];

/// `sshd`, `sshd(pam_unix)`, `CRON` ...
pub(crate) fn is_auth_program(tag: &str) -> bool {
    let base = tag.split(['(', '[']).next().unwrap_or(tag);
    PROGRAMS.contains(&base) || base.starts_with("gdm")
}

/// A header-less line that reads like PAM or sshd.
pub(crate) fn looks_like(m: &str) -> bool {
    m.starts_with("pam_unix(")
        || m.starts_with("Failed password for ")
        || m.starts_with("Accepted ")
}

/// The word after `key` (`from 1.2.3.4` → `1.2.3.4`).
fn word_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let p = s.find(key)?;
    s[p + key.len()..]
        .split([' ', ';', ','])
        .find(|w| !w.is_empty())
}

/// `key=value` inside a PAM line (`rhost=1.2.3.4  user=root`).
fn pam_value<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let mut search = 0;
    while let Some(p) = s[search..].find(key) {
        let at = search + p;
        let before_ok = at == 0 || s.as_bytes()[at - 1] == b' ';
        if before_ok {
            let v = s[at + key.len()..].split([' ', ';']).next().unwrap_or("");
            return (!v.is_empty()).then_some(v);
        }
        search = at + key.len();
    }
    None
}

fn source(out: &mut Out<'_>, text: &str) {
    if let Some(ip) = word_after(text, " from ").or_else(|| word_after(text, "from ")) {
        out.ip(ecs::SOURCE_IP, ip.trim_end_matches(':'));
    }
    if let Some(port) = word_after(text, " port ") {
        out.int(ecs::SOURCE_PORT, port);
    }
}

pub(crate) fn parse(out: &mut Out<'_>, msg: &str, tag: Option<&str>) -> bool {
    let program = tag
        .map(|t| t.split(['(', '[']).next().unwrap_or(t))
        .unwrap_or("");
    let mut text = msg.trim();
    // `message repeated 5 times: [ Failed password for root from ...]`
    if let Some(rest) = text.strip_prefix("message repeated ")
        && let Some(p) = rest.find(": [ ")
    {
        text = rest[p + 4..].trim_end_matches(']').trim();
    }
    let text = text.strip_prefix("error: ").unwrap_or(text);
    ssh_login(out, text)
        || pam(out, text)
        || session(out, text)
        || ssh_connection(out, text)
        || by_program(out, program, text)
        || other(out, text)
        // Another message of an authentication program: recognised, with what it says.
        || !program.is_empty()
}

/// sshd's login messages: failed, accepted, invalid user, too many retries, fatal errors.
fn ssh_login(out: &mut Out<'_>, text: &str) -> bool {
    if let Some(rest) = text.strip_prefix("Failed ") {
        // Failed password for [invalid user ]NAME from IP port N ssh2
        out.str(ecs::EVENT_ACTION, "ssh_login");
        out.outcome(false);
        if let Some(method) = rest.split(' ').next() {
            out.str("ssh.method", method);
        }
        let user = rest
            .split_once(" for ")
            .map(|(_, r)| r.strip_prefix("invalid user ").unwrap_or(r))
            .and_then(|r| r.rsplit_once(" from ").map(|(u, _)| u));
        if let Some(u) = user {
            out.str(ecs::USER_NAME, u);
        }
        source(out, rest);
        return true;
    }
    if let Some(rest) = text.strip_prefix("Accepted ") {
        out.str(ecs::EVENT_ACTION, "ssh_login");
        out.outcome(true);
        if let Some(method) = rest.split(' ').next() {
            out.str("ssh.method", method);
        }
        if let Some(u) = rest
            .split_once(" for ")
            .and_then(|(_, r)| r.rsplit_once(" from ").map(|(u, _)| u))
        {
            out.str(ecs::USER_NAME, u);
        }
        source(out, rest);
        return true;
    }
    if let Some(rest) = text.strip_prefix("Invalid user ") {
        out.str(ecs::EVENT_ACTION, "invalid_user");
        out.outcome(false);
        if let Some((u, _)) = rest.rsplit_once(" from ") {
            out.str(ecs::USER_NAME, u);
        }
        source(out, rest);
        return true;
    }
    if let Some(rest) = text.strip_prefix("input_userauth_request: invalid user ") {
        out.str(ecs::EVENT_ACTION, "invalid_user");
        out.outcome(false);
        out.str(ecs::USER_NAME, rest.trim_end_matches(" [preauth]"));
        return true;
    }
    if let Some(rest) = text.strip_prefix("PAM service(") {
        out.str(ecs::EVENT_ACTION, "max_retries_exceeded");
        out.outcome(false);
        if let Some((service, _)) = rest.split_once(')') {
            out.str("pam.service", service);
        }
        return true;
    }
    if let Some(rest) = text.strip_prefix("fatal: ") {
        out.str(ecs::EVENT_ACTION, "fatal_error");
        out.str("error.message", rest);
        return true;
    }
    false
}

/// PAM's messages (`pam_unix(sshd:auth): authentication failure; ... rhost=IP user=root`).
fn pam(out: &mut Out<'_>, text: &str) -> bool {
    if text.starts_with("pam_unix(")
        || text.contains("authentication failure;")
        || text.starts_with("PAM ")
        || text.starts_with("check pass;")
    {
        // pam_unix(sshd:auth): authentication failure; logname= uid=0 ... rhost=IP  user=root
        if let Some(close) = text.find("):")
            && let Some(inner) = text.get(9..close)
            && let Some((service, kind)) = inner.split_once(':')
        {
            out.str("pam.service", service);
            out.str("pam.type", kind);
        }
        if let Some(rhost) = pam_value(text, "rhost=") {
            out.ip(ecs::SOURCE_IP, rhost);
            out.str("source.address", rhost);
        }
        if let Some(u) = pam_value(text, "user=") {
            out.str(ecs::USER_NAME, u);
        }
        if text.contains("authentication failure") || text.contains("more authentication failure") {
            out.str(ecs::EVENT_ACTION, "authentication_failure");
            out.outcome(false);
        } else if text.contains("user unknown") {
            out.str(ecs::EVENT_ACTION, "user_unknown");
            out.outcome(false);
        }
        session(out, text);
        return true;
    }
    false
}

/// sshd's connection messages: disconnects, closed connections, reverse mapping failures.
fn ssh_connection(out: &mut Out<'_>, text: &str) -> bool {
    if let Some(rest) = text.strip_prefix("Received disconnect from ") {
        out.str(ecs::EVENT_ACTION, "disconnect");
        if let Some(ip) = rest.split([':', ' ']).next() {
            out.ip(ecs::SOURCE_IP, ip);
        }
        if let Some(port) = word_after(rest, "port ") {
            out.int(ecs::SOURCE_PORT, port.trim_end_matches(':'));
        }
        return true;
    }
    if let Some(rest) = text.strip_prefix("Connection closed by ") {
        out.str(ecs::EVENT_ACTION, "connection_closed");
        let ip = rest.split(' ').next().unwrap_or("");
        let ip = if ip == "authenticating" || ip == "invalid" {
            word_after(rest, "user ")
                .and_then(|_| rest.split(' ').nth(3))
                .unwrap_or("")
        } else {
            ip
        };
        out.ip(ecs::SOURCE_IP, ip);
        if let Some(port) = word_after(rest, "port ") {
            out.int(ecs::SOURCE_PORT, port);
        }
        return true;
    }
    if let Some(rest) = text.strip_prefix("reverse mapping checking getaddrinfo for ") {
        out.str(ecs::EVENT_ACTION, "reverse_mapping_failed");
        if let Some(open) = rest.find('[') {
            let ip = rest[open + 1..].split(']').next().unwrap_or("");
            out.ip(ecs::SOURCE_IP, ip);
        }
        if let Some(host) = rest.split(' ').next() {
            out.str("source.domain", host);
        }
        return true;
    }
    if let Some(rest) = text.strip_prefix("Did not receive identification string from ") {
        out.str(ecs::EVENT_ACTION, "no_identification");
        out.ip(ecs::SOURCE_IP, rest.split(' ').next().unwrap_or(""));
        return true;
    }
    if let Some(rest) = text.strip_prefix("Disconnecting: Too many authentication failures for ") {
        out.str(ecs::EVENT_ACTION, "too_many_failures");
        out.outcome(false);
        let user = rest.trim_end_matches(" [preauth]");
        let user = user.strip_prefix("invalid user ").unwrap_or(user);
        out.str(ecs::USER_NAME, user.split(' ').next().unwrap_or(user));
        source(out, rest);
        return true;
    }
    false
}

/// Messages read by the program that sent them: sudo, cron, the user and group tools.
fn by_program(out: &mut Out<'_>, program: &str, text: &str) -> bool {
    if program == "sudo" {
        // `alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls`
        if let Some((user, rest)) = text.split_once(" : ") {
            out.str(ecs::USER_NAME, user.trim());
            out.str(ecs::EVENT_ACTION, "sudo");
            for part in rest.split(" ; ") {
                if let Some((k, v)) = part.split_once('=') {
                    match k.trim() {
                        "USER" => out.str("user.effective.name", v),
                        "COMMAND" => out.str("process.command_line", v),
                        "TTY" => out.str("process.tty.name", v),
                        "PWD" => out.str("process.working_directory", v),
                        _ => {}
                    }
                }
            }
            out.outcome(
                !rest.contains("command not allowed") && !text.contains("incorrect password"),
            );
            return true;
        }
    }
    if matches!(program, "cron" | "crond" | "CRON") {
        // `(root) CMD (run-parts /etc/cron.hourly)`
        if let Some(rest) = text.strip_prefix('(')
            && let Some((user, cmd)) = rest.split_once(") ")
        {
            out.str(ecs::USER_NAME, user);
            out.str(ecs::EVENT_ACTION, "cron");
            if let Some(c) = cmd.strip_prefix("CMD (") {
                out.str("process.command_line", c.trim_end_matches(')'));
            }
            return true;
        }
    }
    if matches!(
        program,
        "useradd" | "usermod" | "userdel" | "groupadd" | "groupdel" | "passwd" | "chpasswd"
    ) {
        // `new user: name=bob, UID=1001, ...`
        out.str(ecs::EVENT_ACTION, program);
        if let Some(name) = pam_value(text, "name=").or_else(|| word_after(text, "user ")) {
            out.str(
                ecs::USER_NAME,
                name.trim_end_matches(',').trim_matches('\''),
            );
        }
        return true;
    }
    false
}

/// Messages of other services: ftpd connections, other authentication failures.
fn other(out: &mut Out<'_>, text: &str) -> bool {
    if let Some(rest) = text.strip_prefix("connection from ") {
        // ftpd: `connection from 1.2.3.4 (host) at Sun Jul 10 ...`
        out.str(ecs::EVENT_ACTION, "connection");
        out.ip(ecs::SOURCE_IP, rest.split(' ').next().unwrap_or(""));
        if let Some(open) = rest.find('(') {
            let host = rest[open + 1..].split(')').next().unwrap_or("");
            if !host.is_empty() {
                out.str("source.domain", host);
            }
        }
        return true;
    }
    if text.contains("authentication failed") {
        out.str(ecs::EVENT_ACTION, "authentication_failure");
        out.outcome(false);
        return true;
    }
    false
}

/// `session opened for user NAME by (uid=0)` and `session closed for user NAME`.
fn session(out: &mut Out<'_>, text: &str) -> bool {
    for (what, action) in [
        ("session opened for user ", "session_opened"),
        ("session closed for user ", "session_closed"),
    ] {
        if let Some(p) = text.find(what) {
            let user = text[p + what.len()..]
                .split([' ', '('])
                .next()
                .unwrap_or("");
            out.str(ecs::USER_NAME, user);
            out.str(ecs::EVENT_ACTION, action);
            out.outcome(true);
            return true;
        }
    }
    false
}
