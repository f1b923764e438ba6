use super::*;

fn group(pairs: &[(&str, &str)]) -> Vec<GroupField> {
    pairs
        .iter()
        .map(|(f, v)| GroupField {
            field: (*f).into(),
            value: (*v).into(),
        })
        .collect()
}

fn both(reason: &Reason, g: &[GroupField]) -> (String, String) {
    let who = Who {
        title: "Outbound volume",
        group: g,
    };
    (
        reason.sentence(&who, Lang::En),
        reason.sentence(&who, Lang::Zh),
    )
}

#[test]
fn spike_names_the_group_the_hour_and_the_usual_band() {
    let r = Reason::Spike {
        count: 5710.0,
        low: 120.0,
        high: 410.0,
        bucket_secs: 3600,
        hour: 14,
        minute: 0,
        day: DayKind::Workday,
    };
    let (en, zh) = both(&r, &group(&[("source.ip", "10.1.2.3")]));
    assert_eq!(
        en,
        "source 10.1.2.3 sent 5,710 events in the hour from 14:00, against 120–410 usually \
         at this hour on a working day"
    );
    assert_eq!(
        zh,
        "源地址 10.1.2.3 在 14:00 起的 1 小时内产生 5,710 个事件，而工作日该时段通常为 120–410 个"
    );
}

#[test]
fn drop_says_only_and_a_destination_receives() {
    let r = Reason::Drop {
        count: 12.0,
        low: 80.0,
        high: 300.0,
        bucket_secs: 600,
        hour: 9,
        minute: 20,
        day: DayKind::MakeUpWorkday,
    };
    let (en, zh) = both(&r, &group(&[("destination.ip", "10.0.0.5")]));
    assert_eq!(
        en,
        "destination 10.0.0.5 received only 12 events in the 10 min from 09:20, against 80–300 \
         usually at this hour on a make-up working day"
    );
    assert_eq!(
        zh,
        "目的地址 10.0.0.5 在 09:20 起的 10 分钟内仅产生 12 个事件，而调休工作日该时段通常为 80–300 个"
    );
}

#[test]
fn silence_says_for_how_long_and_what_was_expected() {
    let r = Reason::Silent {
        silent_secs: 2 * 3600 + 300,
        expected_low: 300.0,
        bucket_secs: 3600,
    };
    let (en, zh) = both(&r, &group(&[("host.name", "db01")]));
    assert_eq!(
        en,
        "host db01 went silent: nothing for 2 h, usually at least 300 per hour"
    );
    assert_eq!(
        zh,
        "主机 db01 已静默：2 小时没有任何事件，通常每小时至少 300 个"
    );
}

#[test]
fn first_seen_is_generic_and_counts_days_of_history() {
    let r = Reason::FirstSeen {
        value: "203.0.113.0/24".into(),
        history_secs: 30 * 86_400 + 500,
    };
    let (en, zh) = both(&r, &group(&[("user.name", "zhangsan")]));
    assert_eq!(
        en,
        "user zhangsan was seen with 203.0.113.0/24 for the first time in 30 days of history"
    );
    assert_eq!(zh, "用户 zhangsan 首次出现 203.0.113.0/24（基线 30 天）");
}

#[test]
fn rare_shows_the_share_and_the_threshold() {
    let r = Reason::Rare {
        value: "powershell.exe".into(),
        count: 2,
        total: 10_000,
        threshold: 0.01,
    };
    let (en, zh) = both(&r, &group(&[("host.name", "ws7")]));
    assert_eq!(
        en,
        "host ws7 was seen with the rare value powershell.exe: 2 of 10,000 observations \
         (0.02%, under 1%)"
    );
    assert_eq!(
        zh,
        "主机 ws7 出现罕见值 powershell.exe：10,000 次观测中仅 2 次（0.02%，低于 1%）"
    );
}

#[test]
fn outlier_names_the_field_and_says_reached_or_only() {
    let high = Reason::Outlier {
        field: "source.bytes".into(),
        value: 52_000_000.0,
        low: 1000.0,
        high: 9_000_000.0,
        bucket_secs: 3600,
        hour: 2,
        minute: 0,
        day: Some(DayKind::Weekend),
    };
    let (en, zh) = both(&high, &group(&[("user.name", "lisi")]));
    assert_eq!(
        en,
        "user lisi's source.bytes reached 52,000,000 in the hour from 02:00, against \
         1,000–9,000,000 usually at this hour on a weekend"
    );
    assert_eq!(
        zh,
        "用户 lisi 的 source.bytes 在 02:00 起的 1 小时内达到 52,000,000，而周末该时段通常为 1,000–9,000,000"
    );
    let low = Reason::Outlier {
        field: "source.bytes".into(),
        value: 10.0,
        low: 1000.0,
        high: 9000.0,
        bucket_secs: 86_400,
        hour: 0,
        minute: 0,
        day: None,
    };
    let (en, zh) = both(&low, &[]);
    assert_eq!(
        en,
        "Outbound volume's source.bytes was only 10 in a day, against 1,000–9,000 usually for \
         this group"
    );
    assert_eq!(
        zh,
        "Outbound volume 的 source.bytes 一天内仅为 10，而该组通常为 1,000–9,000"
    );
}

#[test]
fn off_hours_shows_the_hour_the_day_and_the_usual_hours() {
    let r = Reason::OffHours {
        hour: 3,
        day: DayKind::Workday,
        usual: "08:00–19:00".into(),
    };
    let (en, zh) = both(
        &r,
        &group(&[("user.name", "zhangsan"), ("event.dataset", "vpn")]),
    );
    assert_eq!(
        en,
        "user zhangsan, event.dataset=vpn was active at 03:00 on a working day, outside their \
         usual hours (08:00–19:00)"
    );
    assert_eq!(
        zh,
        "用户 zhangsan、event.dataset=vpn 在工作日 03:00 活动，不在其通常时段（08:00–19:00）内"
    );
    let holiday = Reason::OffHours {
        hour: 23,
        day: DayKind::Holiday,
        usual: String::new(),
    };
    let (en, zh) = both(&holiday, &group(&[("observer.name", "fw1")]));
    assert!(
        en.starts_with("device fw1 was active at 23:00 on a holiday"),
        "{en}"
    );
    assert!(zh.starts_with("设备 fw1 在节假日 23:00"), "{zh}");
}

#[test]
fn numbers_spans_and_shares_are_shown_for_people() {
    assert_eq!(fmt_num(0.0), "0");
    assert_eq!(fmt_num(2.5), "2.5");
    assert_eq!(fmt_num(999.6), "1,000");
    assert_eq!(fmt_num(1_234_567.0), "1,234,567");
    assert_eq!(fmt_num(-4200.0), "-4,200");
    assert_eq!(span_en(600), "10 min");
    assert_eq!(span_en(3600), "1 h");
    assert_eq!(span_en(5400), "90 min");
    assert_eq!(span_en(86_400), "1 day");
    assert_eq!(span_zh(7 * 86_400), "7 天");
    assert_eq!(fmt_share(0.25), "25%");
    assert_eq!(fmt_share(0.025), "2.5%");
    assert_eq!(noun("unknown.field", Lang::En), None);
    assert_eq!(noun("destination.port", Lang::Zh), Some("目的端口"));
}
