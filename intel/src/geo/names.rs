//! Country names as Chinese geo databases write them (ip2region's `国家` column), to their
//! ISO 3166-1 codes, and the 境内/境外 (domestic or not) of a country code.

/// The country code of a Chinese country name; `province` tells Hong Kong, Macao and Taiwan
/// apart when a database writes them as provinces of `中国`. `None` for a name not in the
/// table (the country's name is still shown; only its code and 境内/境外 are unknown).
pub fn code_of(country: &str, province: Option<&str>) -> Option<&'static str> {
    let special = |name: &str| {
        if name.starts_with("香港") {
            Some("HK")
        } else if name.starts_with("澳门") {
            Some("MO")
        } else if name.starts_with("台湾") {
            Some("TW")
        } else {
            None
        }
    };
    if country == "中国" {
        return Some(province.and_then(special).unwrap_or("CN"));
    }
    if let Some(code) = special(country) {
        return Some(code);
    }
    COUNTRIES
        .iter()
        .find(|(name, _)| *name == country)
        .map(|(_, code)| *code)
}

/// Whether a country is 境内 (inside the mainland's data-export border). Only `CN` is:
/// Hong Kong (HK), Macao (MO) and Taiwan (TW) are 境外, as the mainland's data-export rules
/// (数据出境安全评估办法 and the regulator's guidance on them) treat a transfer to them as
/// leaving the border. `None` when the code is not a two-letter code.
pub fn domestic(code: &str) -> Option<bool> {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(code.eq_ignore_ascii_case("CN"))
}

/// Names ip2region's data uses for the countries seen most in Chinese networks' traffic.
const COUNTRIES: &[(&str, &str)] = &[
    ("美国", "US"),
    ("日本", "JP"),
    ("韩国", "KR"),
    ("朝鲜", "KP"),
    ("俄罗斯", "RU"),
    ("德国", "DE"),
    ("法国", "FR"),
    ("英国", "GB"),
    ("荷兰", "NL"),
    ("意大利", "IT"),
    ("西班牙", "ES"),
    ("瑞士", "CH"),
    ("瑞典", "SE"),
    ("挪威", "NO"),
    ("芬兰", "FI"),
    ("丹麦", "DK"),
    ("波兰", "PL"),
    ("乌克兰", "UA"),
    ("爱尔兰", "IE"),
    ("比利时", "BE"),
    ("奥地利", "AT"),
    ("捷克", "CZ"),
    ("罗马尼亚", "RO"),
    ("土耳其", "TR"),
    ("以色列", "IL"),
    ("伊朗", "IR"),
    ("沙特阿拉伯", "SA"),
    ("阿联酋", "AE"),
    ("印度", "IN"),
    ("巴基斯坦", "PK"),
    ("孟加拉", "BD"),
    ("新加坡", "SG"),
    ("马来西亚", "MY"),
    ("泰国", "TH"),
    ("越南", "VN"),
    ("菲律宾", "PH"),
    ("印度尼西亚", "ID"),
    ("柬埔寨", "KH"),
    ("缅甸", "MM"),
    ("老挝", "LA"),
    ("蒙古", "MN"),
    ("哈萨克斯坦", "KZ"),
    ("澳大利亚", "AU"),
    ("新西兰", "NZ"),
    ("加拿大", "CA"),
    ("墨西哥", "MX"),
    ("巴西", "BR"),
    ("阿根廷", "AR"),
    ("智利", "CL"),
    ("南非", "ZA"),
    ("埃及", "EG"),
    ("尼日利亚", "NG"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_is_domestic_and_hong_kong_macao_taiwan_are_not() {
        assert_eq!(code_of("中国", Some("河南省")), Some("CN"));
        assert_eq!(code_of("中国", None), Some("CN"));
        assert_eq!(code_of("中国", Some("香港特别行政区")), Some("HK"));
        assert_eq!(code_of("中国", Some("澳门")), Some("MO"));
        assert_eq!(code_of("中国", Some("台湾省")), Some("TW"));
        assert_eq!(code_of("美国", None), Some("US"));
        assert_eq!(code_of("图瓦卢", None), None);
        assert_eq!(domestic("CN"), Some(true));
        assert_eq!(domestic("cn"), Some(true));
        for outside in ["HK", "MO", "TW", "US"] {
            assert_eq!(domestic(outside), Some(false), "{outside}");
        }
        assert_eq!(domestic("中国"), None);
    }
}
