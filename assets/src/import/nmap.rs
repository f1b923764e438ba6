//! Nmap XML (`nmap -sV -oX`): the hosts that were up, their addresses and names, their open
//! ports and what answers on them. Nmap reports no findings; the scan time is `nmaprun
//! start` (epoch seconds).
//!
//! Only `state="open"` ports are kept (`open|filtered` says nothing answered). A service's
//! `extrainfo` (`protocol 2.0`, `Python 3.11.7`) goes in brackets after its version, or
//! after the product when there is no version. MAC addresses are not host keys and are
//! skipped.

use std::net::IpAddr;

use onewall_model::Timestamp;
use quick_xml::events::BytesStart;

use crate::error::AssetError;
use crate::scan::{Scan, ScannedHost, Scanner, Service};

use super::Context;
use super::xml::{self, Node, Walk};

const FORMAT: &str = "nmap";

/// Host names kept per host.
const MAX_NAMES: usize = 16;

/// The host being read.
#[derive(Default)]
struct HostDraft {
    up: bool,
    address: Option<IpAddr>,
    names: Vec<String>,
    ports: Vec<Service>,
}

/// A service's name, product and version.
type ServiceText = (Option<String>, Option<String>, Option<String>);

/// The port being read.
struct PortDraft {
    port: u16,
    protocol: String,
    open: bool,
    service: Option<ServiceText>,
}

pub(super) fn parse(bytes: &[u8], ctx: &Context<'_>) -> Result<Scan, AssetError> {
    let src = xml::decode(bytes);
    let mut w = Walk::new(FORMAT, &src);
    let mut at: Option<Timestamp> = None;
    let mut finished: Option<Timestamp> = None;
    let mut hosts: Vec<ScannedHost> = Vec::new();
    let mut host: Option<HostDraft> = None;
    let mut port: Option<PortDraft> = None;
    let mut saw_root = false;
    loop {
        match w.next()? {
            Node::Open(e) => match (w.depth(), w.name()) {
                (1, "nmaprun") => {
                    saw_root = true;
                    at = epoch(&w, &e, "start")?;
                }
                (1, other) => {
                    return Err(w.refuse(format!("root element is <{other}>, not <nmaprun>")));
                }
                (2, "host") => host = Some(HostDraft::default()),
                (_, "finished") if w.ancestor(1) == "runstats" => {
                    finished = epoch(&w, &e, "time")?;
                }
                _ => {
                    if let Some(h) = host.as_mut() {
                        open_in_host(&w, &e, h, &mut port)?;
                    }
                }
            },
            Node::Close(_) => match (w.depth(), w.name()) {
                (2, "host") => {
                    if let Some(h) = host.take()
                        && h.up
                        && (h.address.is_some() || !h.names.is_empty())
                    {
                        let mut ports = h.ports;
                        ports.sort();
                        ports.dedup();
                        hosts.push(ScannedHost {
                            address: h.address,
                            names: h.names,
                            ports: Some(ports),
                        });
                    }
                }
                (_, "port") if w.ancestor(1) == "ports" => {
                    if let (Some(p), Some(h)) = (port.take(), host.as_mut())
                        && p.open
                    {
                        let (name, product, version) = p.service.unwrap_or_default();
                        h.ports.push(Service {
                            port: p.port,
                            protocol: p.protocol,
                            name,
                            product,
                            version,
                        });
                    }
                }
                _ => {}
            },
            Node::Eof => break,
        }
    }
    if !saw_root {
        return Err(AssetError::refused(
            FORMAT,
            crate::error::Place::File,
            "no <nmaprun> element",
        ));
    }
    Ok(Scan {
        scanner: Scanner::Nmap,
        at: at.or(finished).unwrap_or(ctx.now),
        hosts,
        findings: Vec::new(),
    })
}

/// An element inside `<host>`.
fn open_in_host(
    w: &Walk<'_>,
    e: &BytesStart<'_>,
    h: &mut HostDraft,
    port: &mut Option<PortDraft>,
) -> Result<(), AssetError> {
    match (w.name(), w.ancestor(1)) {
        ("status", "host") => h.up = w.attr(e, "state")?.as_deref() == Some("up"),
        ("address", "host") => {
            let kind = w.attr(e, "addrtype")?.unwrap_or_default();
            if kind == "ipv4" || kind == "ipv6" {
                let text = w.attr(e, "addr")?.unwrap_or_default();
                let addr: IpAddr = text
                    .parse()
                    .map_err(|_| w.refuse(format!("addr {text:?} is not an {kind} address")))?;
                // The first address names the host; nmap lists the scanned one first.
                h.address.get_or_insert(addr);
            }
        }
        ("hostname", "hostnames") => {
            if let Some(name) = w.attr(e, "name")? {
                let name = name.trim().trim_end_matches('.').to_lowercase();
                // A host has a few names; more are not kept (bounded work per host).
                if !name.is_empty() && h.names.len() < MAX_NAMES && !h.names.contains(&name) {
                    h.names.push(name);
                }
            }
        }
        ("port", "ports") => {
            let text = w.attr(e, "portid")?.unwrap_or_default();
            let number: u16 = text
                .parse()
                .map_err(|_| w.refuse(format!("portid {text:?} is not a port number")))?;
            let protocol = w
                .attr(e, "protocol")?
                .unwrap_or_else(|| "tcp".to_string())
                .to_lowercase();
            *port = Some(PortDraft {
                port: number,
                protocol,
                open: false,
                service: None,
            });
        }
        ("state", "port") => {
            if let Some(p) = port.as_mut() {
                p.open = w.attr(e, "state")?.as_deref() == Some("open");
            }
        }
        ("service", "port") => {
            if let Some(p) = port.as_mut() {
                p.service = Some(service(w, e)?);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Name, product and version of a `<service>`, extrainfo folded in.
fn service(w: &Walk<'_>, e: &BytesStart<'_>) -> Result<ServiceText, AssetError> {
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let name = non_empty(w.attr(e, "name")?);
    let mut product = non_empty(w.attr(e, "product")?);
    let mut version = non_empty(w.attr(e, "version")?);
    if let Some(extra) = non_empty(w.attr(e, "extrainfo")?) {
        match (&mut version, &mut product) {
            (Some(v), _) => *v = format!("{v} ({extra})"),
            (None, Some(p)) => *p = format!("{p} ({extra})"),
            (None, None) => version = Some(extra),
        }
    }
    Ok((name, product, version))
}

/// An epoch-seconds attribute; absent or empty is `None`, anything else not a number is
/// refused.
fn epoch(w: &Walk<'_>, e: &BytesStart<'_>, name: &str) -> Result<Option<Timestamp>, AssetError> {
    let Some(text) = w.attr(e, name)? else {
        return Ok(None);
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let secs: i64 = text
        .parse()
        .ok()
        .filter(|s| (0..=253_402_300_799).contains(s))
        .ok_or_else(|| w.refuse(format!("{name} {text:?} is not a time in epoch seconds")))?;
    Ok(Some(Timestamp::from_secs(secs)))
}
