//! Lanes: `endpoint` and each of `destinations` gets one, with its own queue, retries, stored
//! copy and request under way. Lane 0 is `endpoint` and takes every event; a destination's
//! lane takes the events its `events` list names.

use crate::prelude::*;
use crate::tracker_core::config::Config;
use crate::tracker_core::json;
use crate::tracker_core::queue::{Queue, Settings};
use crate::tracker_core::store;

/// Events older than this in a stored queue whose destination no page names any more are
/// dropped.
pub const ABANDONED_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// One endpoint's delivery.
#[derive(Debug)]
pub(super) struct Lane {
    pub(super) queue: Queue,
    /// Where the queue is stored: `shoptrail:q:<page id>` (also the name of the page's Web
    /// Lock), then `:<tag>` for a destination.
    pub(super) key: String,
    /// The destination's [tag](crate::tracker_core::destination::Destination::tag); empty for
    /// `endpoint`.
    pub(super) tag: String,
    /// Batches of 1 KiB and more are gzip-compressed (`compress`).
    pub(super) gzip: bool,
    /// When the request or beacon under way was made (its `sentAt`).
    pub(super) sent_at: u64,
    /// Bytes of the request under way when it uses `keepalive` (0 otherwise): the browser's
    /// keepalive quota (64 KiB in flight) is shared by every lane.
    pub(super) keepalive: usize,
    /// The queue changed since it was last written to storage.
    pub(super) unsaved: bool,
    /// Delivery is failing (reported), until a batch is delivered: `flush()` does not wait
    /// for this lane.
    pub(super) failing: bool,
    /// What its reports start with: empty for `endpoint`, `destinations[1] (https://…): `
    /// for a destination.
    pub(super) label: String,
}

/// The lanes of a page whose id starts with `page`.
pub(super) fn lanes(cfg: &Config, page: &str) -> Vec<Lane> {
    let settings = Settings {
        batch_size: cfg.batch_size as usize,
        flush_interval: cfg.flush_interval as u64,
        max_retries: cfg.max_retries,
        write_key: cfg.write_key.clone(),
        ..Settings::default()
    };
    let key = [store::Q_PREFIX, page].concat();
    let lane = |settings: Settings, tag: String, gzip, label| Lane {
        queue: Queue::new(settings),
        key: if tag.is_empty() {
            key.clone()
        } else {
            [&key, ":", &tag].concat()
        },
        tag,
        gzip,
        sent_at: 0,
        keepalive: 0,
        unsaved: false,
        failing: false,
        label,
    };
    let mut out = vec![lane(
        settings.clone(),
        String::new(),
        cfg.compress,
        String::new(),
    )];
    for (i, d) in cfg.destinations().iter().enumerate() {
        let s = Settings {
            write_key: d.write_key.clone(),
            ..settings.clone()
        };
        let mut label = String::from("destinations[");
        json::push_u64(&mut label, i as u64);
        label.push_str("] (");
        label.push_str(&d.endpoint);
        label.push_str("): ");
        out.push(lane(s, d.tag(), d.compress, label));
    }
    out
}

/// Each lane's endpoint (`endpoint`, then each destination's, in order): as given, and with
/// `compression=gzip` in its query for gzip-compressed bodies (the collector inflates what
/// that parameter announces).
pub fn urls(cfg: &Config) -> Vec<[String; 2]> {
    let all = core::iter::once(&cfg.endpoint).chain(cfg.destinations().iter().map(|d| &d.endpoint));
    all.map(|url| {
        let sep = if url.contains('?') { "&" } else { "?" };
        [url.clone(), [url, sep, "compression=gzip"].concat()]
    })
    .collect()
}

/// A stored queue's key read back: the page's lock name and the destination's tag (empty for
/// `endpoint`).
pub(super) fn split_key(key: &str) -> (&str, &str) {
    let rest = key.get(store::Q_PREFIX.len()..).unwrap_or_default();
    match rest.split_once(':') {
        Some((page, tag)) => (&key[..store::Q_PREFIX.len() + page.len()], tag),
        None => (key, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::{split_key, urls};
    use crate::prelude::*;
    use crate::tracker_core::config::parse_json;

    #[test]
    fn each_lane_has_its_url_and_the_same_announcing_gzip() {
        let mut text = String::from(r#"{"endpoint":"https://c.example/v1/batch?key=k""#);
        if cfg!(feature = "destinations") {
            text.push_str(r#","destinations":[{"endpoint":"https://d.example/in"}]"#);
        }
        text.push('}');
        let got = urls(&parse_json(&text).unwrap());
        assert_eq!(
            got[0],
            [
                "https://c.example/v1/batch?key=k",
                "https://c.example/v1/batch?key=k&compression=gzip"
            ]
        );
        if cfg!(feature = "destinations") {
            assert_eq!(
                got[1],
                [
                    "https://d.example/in",
                    "https://d.example/in?compression=gzip"
                ]
            );
        }
    }

    #[test]
    fn stored_keys_name_the_page_and_the_destination() {
        assert_eq!(
            split_key("shoptrail:q:0a1b2c3d"),
            ("shoptrail:q:0a1b2c3d", "")
        );
        assert_eq!(
            split_key("shoptrail:q:0a1b2c3d:99aabbcc"),
            ("shoptrail:q:0a1b2c3d", "99aabbcc")
        );
    }
}
