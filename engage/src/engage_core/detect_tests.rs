//! The detector replays traces (`engage/traces/*.trace`): the pointer, scroll, focus, key and
//! visibility samples of one visit, with the trigger and the expected decision in the header.
//!
//! Traces named `chromium-*` were recorded in headless Chromium by `e2e/record-traces.mjs`;
//! the others are written by hand from the event sequences browsers produce in the cases
//! Playwright cannot drive (an open `<select>` in Firefox, an autofill list, a scrollbar drag,
//! touch devices).
//!
//! Format: `# hover: yes|no`, `# trigger: exit [sides] [bottom] [back] [sensitivity=N] |
//! time MS | depth PCT | idle MS | inactivity MS`, `# expect: none | <fire name> [at <ms>]`, then one sample a
//! line: `<ms> viewport W H OUTER | move X Y [BUTTONS] | leave X Y [BUTTONS] | scroll Y HEIGHT |
//! field 1|0 | key | hidden 1|0 | gesture | back | cart N`, or `<ms> push` to assert that the
//! detector asked for its history entry. The clock jumps to each wake-up the detector asks for.

use super::*;

macro_rules! traces {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../traces/", $name, ".trace")))),*]
    };
}

const TRACES: [(&str, &str); 35] = traces![
    "chromium-top-exit",
    "chromium-flick",
    "chromium-flick-one-step",
    "chromium-flick-one-step-moving",
    "chromium-side-exit",
    "chromium-field-focused",
    "chromium-comes-back",
    "chromium-wheel-then-leave",
    "top-exit",
    "flick",
    "scrollbar-drag",
    "select-open-firefox",
    "autofill",
    "toolbar-entry",
    "scroll-then-leave",
    "comes-back",
    "side-exit",
    "side-exit-enabled",
    "bottom-exit",
    "too-early",
    "never-moved",
    "along-the-top",
    "hidden-during-grace",
    "touch-scroll-up",
    "touch-scroll-up-slow",
    "touch-scroll-jump",
    "touch-scroll-up-too-early",
    "touch-tab-return",
    "touch-tab-return-short",
    "touch-back",
    "touch-back-disabled",
    "time-on-page",
    "scroll-depth",
    "cart-idle",
    "inactivity",
];

fn header<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix("# ")?.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no `# {key}:` line"))
}

fn trigger(spec: &str) -> Trigger {
    let mut words = spec.split_whitespace();
    let kind = words.next().unwrap();
    let mut n = || words.next().unwrap().parse::<u64>().unwrap();
    match kind {
        "time" => Trigger::Time(n()),
        "depth" => Trigger::Depth(n() as u8),
        "idle" => Trigger::CartIdle(n()),
        "inactivity" => Trigger::Idle(n()),
        "exit" => {
            let mut e = Exit::default();
            for w in spec.split_whitespace().skip(1) {
                match w {
                    "sides" => e.sides = true,
                    "bottom" => e.bottom = true,
                    "back" => e.back = true,
                    w => e.sensitivity = w.strip_prefix("sensitivity=").unwrap().parse().unwrap(),
                }
            }
            Trigger::Exit(e)
        }
        k => panic!("unknown trigger {k}"),
    }
}

fn sample(kind: &str, a: &[i32]) -> Sample {
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    match kind {
        "viewport" => Sample::Viewport {
            width: at(0),
            height: at(1),
            outer: at(2),
        },
        "move" => Sample::Move {
            x: at(0),
            y: at(1),
            buttons: at(2) as u16,
        },
        "leave" => Sample::Leave {
            x: at(0),
            y: at(1),
            buttons: at(2) as u16,
        },
        "scroll" => Sample::Scroll {
            y: at(0),
            height: at(1),
        },
        "field" => Sample::Field(at(0) == 1),
        "key" => Sample::Key,
        "hidden" => Sample::Hidden(at(0) == 1),
        "gesture" => Sample::Gesture,
        "back" => Sample::Back,
        "cart" => Sample::Cart(at(0) as u32),
        k => panic!("unknown sample {k}"),
    }
}

/// Replays a trace; the first fire and its time.
fn replay(name: &str, text: &str) -> Option<(Fire, Ms)> {
    let hover = header(text, "hover") == "yes";
    let mut d = Detector::new(trigger(header(text, "trigger")), hover, 0);
    let mut fired = None;
    let mut note = |f: Option<Fire>, t: Ms| {
        if let Some(f) = f {
            assert!(fired.is_none(), "{name}: fired twice");
            fired = Some((f, t));
        }
    };
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut w = line.split_whitespace();
        let t: Ms = w.next().unwrap().parse().unwrap();
        let kind = w.next().unwrap();
        while let Some(at) = d.next_wake().filter(|&at| at <= t) {
            note(d.wake(at), at);
        }
        if kind == "push" {
            assert!(d.take_push(), "{name}: no history entry asked for at {t}");
            continue;
        }
        let args: Vec<i32> = w.map(|a| a.parse().unwrap()).collect();
        note(d.handle(t, sample(kind, &args)), t);
    }
    while let Some(at) = d.next_wake() {
        note(d.wake(at), at);
    }
    fired
}

#[test]
fn every_trace_decides_as_expected() {
    let mut wrong = Vec::new();
    for (name, text) in TRACES {
        let expect = header(text, "expect");
        // `exit_top at 7380`, or only `exit_top` when the time does not matter (recorded traces).
        let got = match replay(name, text) {
            Some((f, t)) if expect.contains(" at ") => format!("{} at {t}", f.name()),
            Some((f, _)) => f.name().to_string(),
            None => "none".to_string(),
        };
        if got != expect {
            wrong.push(format!("{name}: expected {expect}, got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_trace_file_is_replayed() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/traces");
    let files = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(files, TRACES.len(), "a trace in {dir} is not in TRACES");
}

fn desktop() -> Detector {
    let mut d = Detector::new(Trigger::Exit(Exit::default()), true, 0);
    d.handle(0, sample("viewport", &[1265, 720, 1280]));
    d.handle(100, sample("move", &[600, 400]));
    d
}

fn leave_up(d: &mut Detector, t: Ms) -> Option<Fire> {
    d.handle(t, sample("move", &[600, 200]));
    d.handle(t + 20, sample("move", &[600, 60]));
    d.handle(t + 40, sample("leave", &[600, -2]))
}

#[test]
fn an_exit_fires_after_the_grace_period_and_only_once() {
    let mut d = desktop();
    assert_eq!(leave_up(&mut d, 6000), None, "not before the grace period");
    assert_eq!(d.next_wake(), Some(6340));
    assert_eq!(d.wake(6339), None);
    assert_eq!(d.wake(6340), Some(Fire::Top));
    assert!(d.done());
    d.handle(7000, sample("move", &[600, 400]));
    assert_eq!(leave_up(&mut d, 8000), None);
    assert_eq!(d.wake(9000), None, "fires once");
}

#[test]
fn a_flick_from_a_resting_pointer_fires() {
    // The pointer rests mid-page for seconds, then one move takes it above the top: the leave
    // is the only sample of the motion.
    let mut d = desktop();
    assert_eq!(d.handle(6000, sample("leave", &[600, -20])), None);
    assert_eq!(d.wake(6300), Some(Fire::Top));
    // A few pixels up from the band is no flick: a pointer that came in from the toolbar.
    let mut d = desktop();
    d.handle(200, sample("leave", &[600, -2]));
    d.handle(300, sample("move", &[600, 12]));
    assert_eq!(d.handle(6000, sample("leave", &[600, -20])), None);
    assert_eq!(d.wake(7000), None);
    // Where the pointer rested before the page was hidden says nothing about where it is.
    let mut d = desktop();
    d.handle(3000, Sample::Hidden(true));
    d.handle(5000, Sample::Hidden(false));
    d.handle(6000, sample("leave", &[600, -20]));
    assert_eq!(d.wake(7000), None);
}

#[test]
fn sensitivity_widens_the_top_band() {
    let mut e = Exit {
        sensitivity: 100,
        ..Exit::default()
    };
    e.grace = 0;
    let mut d = Detector::new(Trigger::Exit(e), true, 0);
    d.handle(100, sample("move", &[600, 400]));
    d.handle(6000, sample("move", &[600, 300]));
    d.handle(6020, sample("move", &[600, 200]));
    // A leave reported 90 px down (a fast pointer) is inside a 100 px band.
    assert_eq!(d.handle(6040, sample("leave", &[600, 90])), Some(Fire::Top));
    let mut narrow = desktop();
    narrow.handle(6000, sample("move", &[600, 300]));
    narrow.handle(6020, sample("move", &[600, 200]));
    narrow.handle(6040, sample("leave", &[600, 90]));
    assert_eq!(
        narrow.wake(7000),
        None,
        "90 px is outside the default 20 px band"
    );
}

#[test]
fn a_focused_field_cancels_a_pending_exit_and_a_blur_rearms() {
    let mut d = desktop();
    leave_up(&mut d, 6000);
    d.handle(6100, Sample::Field(true));
    assert_eq!(d.wake(7000), None);
    d.handle(7100, Sample::Field(false));
    d.handle(7200, sample("move", &[600, 400]));
    leave_up(&mut d, 8000);
    assert_eq!(d.wake(9000), Some(Fire::Top));
}

#[test]
fn touch_rules_do_not_apply_to_a_hovering_pointer_and_the_reverse() {
    let mut d = desktop();
    d.handle(6000, sample("scroll", &[1500, 5000]));
    d.handle(7000, sample("scroll", &[1480, 5000]));
    assert_eq!(d.handle(7050, sample("scroll", &[1000, 5000])), None);
    d.handle(8000, Sample::Hidden(true));
    assert_eq!(d.handle(20000, Sample::Hidden(false)), None);
    let mut touch = Detector::new(Trigger::Exit(Exit::default()), false, 0);
    touch.handle(6000, sample("move", &[100, 300]));
    touch.handle(6020, sample("move", &[100, 100]));
    touch.handle(6040, sample("leave", &[100, -5]));
    assert_eq!(touch.wake(7000), None);
}

#[test]
fn nothing_fires_while_hidden() {
    let mut d = Detector::new(Trigger::Time(10_000), true, 0);
    d.handle(5000, Sample::Hidden(true));
    assert_eq!(d.next_wake(), None);
    assert_eq!(d.wake(12_000), None);
    assert_eq!(d.handle(15_000, Sample::Hidden(false)), Some(Fire::Time));
}

#[test]
fn cart_idle_waits_for_items() {
    let mut d = Detector::new(Trigger::CartIdle(1000), true, 0);
    assert_eq!(d.next_wake(), None, "an empty cart is not idle");
    d.handle(500, Sample::Cart(1));
    assert_eq!(d.next_wake(), Some(1500));
    d.handle(1200, Sample::Cart(0));
    assert_eq!(d.wake(5000), None);
}

#[test]
fn inactivity_counts_from_the_last_activity_and_not_while_hidden() {
    let mut d = Detector::new(Trigger::Idle(3000), true, 0);
    assert_eq!(d.next_wake(), Some(3000), "from the start of the page");
    d.handle(
        2000,
        Sample::Move {
            x: 10,
            y: 300,
            buttons: 0,
        },
    );
    d.handle(4000, Sample::Key);
    d.handle(
        4500,
        Sample::Scroll {
            y: 200,
            height: 4000,
        },
    );
    assert_eq!(d.next_wake(), Some(7500));
    assert_eq!(d.wake(7499), None);
    // Away from the tab: no wake-up, and coming back is activity.
    d.handle(6000, Sample::Hidden(true));
    assert_eq!(d.next_wake(), None);
    assert_eq!(d.handle(60_000, Sample::Hidden(false)), None);
    assert_eq!(d.next_wake(), Some(63_000));
    // A focused field is not activity by itself; a tap is.
    d.handle(61_000, Sample::Field(true));
    d.handle(62_000, Sample::Gesture);
    assert_eq!(d.wake(64_999), None);
    assert_eq!(d.wake(65_000), Some(Fire::Idle));
    assert_eq!(Fire::Idle.name(), "inactivity");
    assert!(d.done());
}
