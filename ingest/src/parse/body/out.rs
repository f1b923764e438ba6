//! Setting a body's fields on the event: the ECS names body parsers set, and [`Out`], which
//! sets typed ECS values and vendor keys as text.

use std::net::IpAddr;

use onewall_model::{Event, Value};

use super::format::BodyFormat;
use crate::parse::fields::{LOG_FORMAT, syslog_names};

/// ECS names the body parsers set.
pub(crate) mod ecs {
    pub const SOURCE_IP: &str = "source.ip";
    pub const SOURCE_PORT: &str = "source.port";
    pub const DESTINATION_IP: &str = "destination.ip";
    pub const DESTINATION_PORT: &str = "destination.port";
    pub const USER_NAME: &str = "user.name";
    pub const EVENT_ACTION: &str = "event.action";
    pub const EVENT_OUTCOME: &str = "event.outcome";
    pub const EVENT_CODE: &str = "event.code";
    pub const OBSERVER_VENDOR: &str = "observer.vendor";
    pub const OBSERVER_PRODUCT: &str = "observer.product";
    pub const NETWORK_TRANSPORT: &str = "network.transport";
    pub const URL_ORIGINAL: &str = "url.original";
    pub const HTTP_METHOD: &str = "http.request.method";
    pub const HTTP_STATUS: &str = "http.response.status_code";
    pub const LOG_LEVEL: &str = "log.level";
}

/// Sets fields on an event: typed ECS values, and vendor keys as text.
pub(crate) struct Out<'e> {
    pub event: &'e mut Event,
}

impl Out<'_> {
    pub fn str(&mut self, name: &str, value: &str) {
        if name == syslog_names().message.name {
            return;
        }
        self.event.fields.insert(name, Value::str(value));
    }

    /// An address, when `value` is one (`[v6]` and a trailing `%zone` are not).
    pub fn ip(&mut self, name: &str, value: &str) {
        if let Ok(ip) = value.trim().parse::<IpAddr>() {
            self.event.fields.insert(name, Value::Ip(ip));
        }
    }

    /// An integer, when `value` is one.
    pub fn int(&mut self, name: &str, value: &str) {
        if let Ok(n) = value.trim().parse::<i64>() {
            self.event.fields.insert(name, Value::Int(n));
        }
    }

    /// `network.transport`, lower case; IANA numbers 1, 6, 17 and 58 by name.
    pub fn transport(&mut self, value: &str) {
        let v = value.trim();
        let name = match v {
            "1" => "icmp",
            "6" => "tcp",
            "17" => "udp",
            "58" => "ipv6-icmp",
            "" => return,
            _ => {
                let lower = v.to_ascii_lowercase();
                self.event
                    .fields
                    .insert(ecs::NETWORK_TRANSPORT, Value::str(lower));
                return;
            }
        };
        self.event
            .fields
            .insert(ecs::NETWORK_TRANSPORT, Value::str(name));
    }

    pub fn outcome(&mut self, success: bool) {
        let v = if success { "success" } else { "failure" };
        self.event.fields.insert(ecs::EVENT_OUTCOME, Value::str(v));
    }

    pub fn observer(&mut self, vendor: &str, product: &str) {
        self.str(ecs::OBSERVER_VENDOR, vendor);
        self.str(ecs::OBSERVER_PRODUCT, product);
    }

    pub(super) fn format(&mut self, f: BodyFormat) {
        self.event.fields.insert(LOG_FORMAT, Value::str(f.as_str()));
    }
}
