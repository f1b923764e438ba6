//! Geo-IP enrichment of events (the node runs it in its detect stage, before the rules, so a
//! Sigma rule can use what it adds): for each of `source.ip`, `destination.ip`,
//! `client.ip`, `server.ip` and `host.ip` (the first address of a list), the ECS fields
//! `<side>.geo.country_iso_code`, `<side>.geo.country_name`, `<side>.geo.region_name` (the
//! province), `<side>.geo.city_name`, `<side>.as.number` and `<side>.as.organization.name`
//! (the AS organisation, or the ISP an ip2region database names), and onewall's
//! `<side>.geo.scope` (`private`, `reserved`, `public`) and `<side>.geo.domestic` (境内
//! `true`, 境外 `false`). What a database does not know is left out; a field the event
//! already has is kept as it is.
//!
//! Lookups are cached per batch: a batch's events mostly repeat a few addresses.

use std::net::IpAddr;
use std::sync::Arc;

use onewall_model::field::FieldId;
use onewall_model::hash::FxMap;
use onewall_model::{Event, Text, Value};

use super::{GeoDb, GeoInfo, scope_of};
use crate::IntelError;

/// The address fields enriched, with their ECS prefix.
const SIDES: [&str; 5] = ["source", "destination", "client", "server", "host"];

/// The field ids one side writes.
#[derive(Debug)]
struct SideFields {
    ip: FieldId,
    country_iso_code: FieldId,
    country_name: FieldId,
    region_name: FieldId,
    city_name: FieldId,
    as_number: FieldId,
    as_organization: FieldId,
    scope: FieldId,
    domestic: FieldId,
}

impl SideFields {
    fn new(side: &str) -> Result<SideFields, IntelError> {
        let id = |suffix: &str| {
            let name = format!("{side}.{suffix}");
            FieldId::intern(&name).ok_or_else(|| IntelError::InvalidValue {
                kind: "field",
                value: name,
                reason: "the field name table is full".into(),
            })
        };
        Ok(SideFields {
            ip: id("ip")?,
            country_iso_code: id("geo.country_iso_code")?,
            country_name: id("geo.country_name")?,
            region_name: id("geo.region_name")?,
            city_name: id("geo.city_name")?,
            as_number: id("as.number")?,
            as_organization: id("as.organization.name")?,
            scope: id("geo.scope")?,
            domestic: id("geo.domestic")?,
        })
    }
}

/// Geo-IP enrichment of events: the databases and the fields they fill.
#[derive(Debug)]
pub struct GeoEnrich {
    db: GeoDb,
    sides: Vec<SideFields>,
}

impl GeoEnrich {
    /// The enrichment by `db` (its field names are interned here, once).
    pub fn new(db: GeoDb) -> Result<GeoEnrich, IntelError> {
        Ok(GeoEnrich {
            db,
            sides: SIDES
                .iter()
                .map(|s| SideFields::new(s))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Enrich a batch's events; how many addresses were looked up (cache misses included).
    pub fn enrich(&self, batch: &mut [Event]) -> usize {
        let mut cache: FxMap<IpAddr, Option<GeoInfo>> = FxMap::default();
        let mut seen = 0;
        for event in batch.iter_mut() {
            for side in &self.sides {
                let Some(ip) = event.fields.get_id(side.ip).and_then(address) else {
                    continue;
                };
                seen += 1;
                let info = cache.entry(ip).or_insert_with(|| self.db.lookup(ip));
                write(event, side, ip, info.as_ref());
            }
        }
        seen
    }
}

/// The address a field holds: an address value, text that parses as one, or the first of a
/// list (ECS `host.ip` is a list).
fn address(v: &Value) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) => Some(*ip),
        Value::Str(s) => s.trim().parse().ok(),
        Value::List(items) => items.first().and_then(address),
        _ => None,
    }
}

fn write(event: &mut Event, side: &SideFields, ip: IpAddr, info: Option<&GeoInfo>) {
    let fields = &mut event.fields;
    let mut set = |id: FieldId, v: Value| {
        if fields.get_id(id).is_none() {
            fields.insert_id(id, v);
        }
    };
    let scope = info.map_or_else(|| scope_of(ip), |i| i.scope);
    set(side.scope, Value::Str(Text::from_static(scope.as_str())));
    let Some(info) = info else {
        return;
    };
    if let Some(d) = info.domestic {
        set(side.domestic, Value::Bool(d));
    }
    let text = |t: &Option<Arc<str>>| t.as_ref().map(|t| Value::Str(Text::from(Arc::clone(t))));
    let place = &info.place;
    for (id, v) in [
        (side.country_iso_code, text(&place.country_code)),
        (side.country_name, text(&place.country)),
        (side.region_name, text(&place.province)),
        (side.city_name, text(&place.city)),
        (side.as_organization, text(&place.isp)),
        (side.as_number, place.asn.map(|n| Value::Int(i64::from(n)))),
    ] {
        if let Some(v) = v {
            set(id, v);
        }
    }
}
