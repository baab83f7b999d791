//! The trigger detector: a sans-IO state machine fed with timestamped samples of what the
//! shopper does (pointer, scroll, focus, keys, visibility, cart), deciding when a campaign's
//! trigger fires. The browser layer turns DOM events into [`Sample`]s, calls [`Detector::wake`]
//! at [`Detector::next_wake`], and shows the popup when either returns a [`Fire`].
//!
//! Exit intent on a device with a hovering pointer: armed after `min_time` on the page and a
//! first pointer movement inside it; fires when the pointer leaves the document through the top
//! band (or an enabled side) while moving up, unless it is on the scrollbar, a button is held
//! (a drag), a form field has focus (which covers an open `<select>` and an autofill list), the
//! page scrolled within the last 500 ms, or the pointer comes back within the grace period. A
//! pointer that entered from the browser's toolbar and never went deeper than the band is not
//! leaving. On touch devices: a fast scroll up after having scrolled down, the return to a tab
//! hidden for a while, and (when enabled) the back button.

/// Time in milliseconds (Unix ms: `Date.now()` in the browser).
pub type Ms = u64;

/// What the shopper did, as the browser layer reports it. Coordinates are CSS pixels relative
/// to the viewport (`clientX`/`clientY`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    /// The viewport: `width`/`height` without scrollbars (`documentElement.clientWidth`/
    /// `clientHeight`), `outer` with them (`innerWidth`).
    Viewport {
        /// Width without the vertical scrollbar.
        width: i32,
        /// Height without the horizontal scrollbar.
        height: i32,
        /// `innerWidth`: the width with the scrollbar.
        outer: i32,
    },
    /// The pointer moved inside the document (also the first move after coming back).
    Move {
        /// clientX.
        x: i32,
        /// clientY.
        y: i32,
        /// Pressed buttons (`MouseEvent.buttons`).
        buttons: u16,
    },
    /// The pointer left the document (`mouseout` with no `relatedTarget`).
    Leave {
        /// clientX (may lie outside the viewport).
        x: i32,
        /// clientY (negative above the page).
        y: i32,
        /// Pressed buttons.
        buttons: u16,
    },
    /// The page scrolled: `y` is `scrollY`, `height` the document's scroll height.
    Scroll {
        /// scrollY.
        y: i32,
        /// documentElement.scrollHeight.
        height: i32,
    },
    /// A form field (input, select, textarea, contenteditable) gained or lost focus.
    Field(bool),
    /// A key was pressed.
    Key,
    /// The page became hidden (`true`) or visible again (`false`).
    Hidden(bool),
    /// A real user gesture (click, tap, key) that lets the page push a history entry.
    Gesture,
    /// The shopper went back to the entry the detector asked to push.
    Back,
    /// How many items the cart holds (for the cart-idle trigger).
    Cart(u32),
}

/// Why a trigger fired: sent with `Popup Shown` as `trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fire {
    /// The pointer left through the top of the page.
    Top,
    /// The pointer left through the left or right side (when enabled).
    Side,
    /// The pointer left through the bottom (when enabled).
    Bottom,
    /// A fast upward scroll on a touch device.
    ScrollUp,
    /// The shopper came back to a tab that was hidden long enough.
    TabReturn,
    /// The back button (when enabled).
    Back,
    /// Time on page.
    Time,
    /// Scroll depth.
    Depth,
    /// The cart held items and the shopper did nothing for a while.
    CartIdle,
    /// The shopper did nothing on the page for a while.
    Idle,
}

impl Fire {
    /// The name events carry.
    pub fn name(self) -> &'static str {
        match self {
            Fire::Top => "exit_top",
            Fire::Side => "exit_side",
            Fire::Bottom => "exit_bottom",
            Fire::ScrollUp => "scroll_up",
            Fire::TabReturn => "tab_return",
            Fire::Back => "back_button",
            Fire::Time => "time_on_page",
            Fire::Depth => "scroll_depth",
            Fire::CartIdle => "cart_idle",
            Fire::Idle => "inactivity",
        }
    }
}

/// The settings of an exit-intent trigger, with the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Time on page before the trigger is armed (5,000 ms).
    pub min_time: Ms,
    /// Height of the top band the pointer must leave through, 10–100 px (20).
    pub sensitivity: i32,
    /// A pointer back within this time was not leaving (300 ms).
    pub grace: Ms,
    /// Leaving by the left or right side counts too (false).
    pub sides: bool,
    /// Leaving by the bottom counts too (false).
    pub bottom: bool,
    /// Touch: the upward scroll that counts, in px (200) ...
    pub scroll_up: i32,
    /// ... within this time (100 ms).
    pub scroll_within: Ms,
    /// Touch: how long the tab must have been hidden for its return to count (5,000 ms).
    pub hidden_for: Ms,
    /// Touch: the back button (pushes one history entry after a user gesture; false).
    pub back: bool,
}

impl Default for Exit {
    fn default() -> Self {
        Exit {
            min_time: 5_000,
            sensitivity: 20,
            grace: 300,
            sides: false,
            bottom: false,
            scroll_up: 200,
            scroll_within: 100,
            hidden_for: 5_000,
            back: false,
        }
    }
}

/// What fires a campaign.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Exit intent: the pointer on desktop, scroll, tab return and back on touch.
    Exit(Exit),
    /// After this long on the page.
    Time(Ms),
    /// Once the bottom of the viewport reaches this share of the page, in percent (1–100).
    Depth(u8),
    /// When the cart holds items and nothing happened for this long.
    CartIdle(Ms),
    /// When nothing happened on the page for this long (time in a hidden tab does not count).
    Idle(Ms),
}

/// A scroll sometimes scrolls the pointer out of the page: leaves this soon after one are not
/// exits.
const SCROLL_QUIET: Ms = 500;
/// Pointer samples older than this say nothing about where the pointer is going.
const MOTION_WINDOW: Ms = 300;
/// A flick: the leave this far above the last sample (the pointer may have rested there),
/// above the page.
const FLICK: i32 = 40;
/// Pointer and scroll samples kept.
const KEEP: usize = 8;

/// One trigger's state. Feed it every sample with [`handle`](Detector::handle), wake it at
/// [`next_wake`](Detector::next_wake); it fires at most once.
#[derive(Debug, Clone)]
pub struct Detector {
    trigger: Trigger,
    hover: bool,
    start: Ms,
    width: i32,
    height: i32,
    outer: i32,
    /// Recent pointer positions (time, x, y), oldest first.
    moves: Vec<(Ms, i32, i32)>,
    /// Since the pointer last entered, it went deeper than the top band.
    deep: bool,
    moved: bool,
    field: bool,
    /// Recent scroll positions (time, y), oldest first.
    scrolls: Vec<(Ms, i32)>,
    last_scroll: Option<Ms>,
    max_scroll: i32,
    hidden_at: Option<Ms>,
    /// A leave waiting for its grace period to pass: (deadline, why).
    pending: Option<(Ms, Fire)>,
    /// A fire that waits for the page to be visible.
    on_show: Option<Fire>,
    cart: u32,
    active: Ms,
    pushed: bool,
    push_now: bool,
    done: bool,
}

impl Detector {
    /// A detector for `trigger` on a page that started at `start`; `hover` when the primary
    /// pointer hovers (`matchMedia("(hover: hover)")`), otherwise the touch rules apply.
    pub fn new(trigger: Trigger, hover: bool, start: Ms) -> Self {
        Detector {
            trigger,
            hover,
            start,
            width: i32::MAX,
            height: i32::MAX,
            outer: i32::MAX,
            moves: Vec::new(),
            deep: false,
            moved: false,
            field: false,
            scrolls: Vec::new(),
            last_scroll: None,
            max_scroll: 0,
            hidden_at: None,
            pending: None,
            on_show: None,
            cart: 0,
            active: start,
            pushed: false,
            push_now: false,
            done: false,
        }
    }

    /// Whether it has fired (it never fires again).
    pub fn done(&self) -> bool {
        self.done
    }

    /// Ready to fire again (after a fire that targeting or caps turned down): the time on
    /// page and the first movement still count; the pointer's path starts over.
    pub fn rearm(&mut self) {
        self.done = false;
        self.pending = None;
        self.on_show = None;
        self.moves.clear();
        self.deep = false;
    }

    /// True once, when the browser layer should push the one history entry the back-button
    /// trigger needs (after the first real gesture).
    pub fn take_push(&mut self) -> bool {
        core::mem::take(&mut self.push_now)
    }

    /// When [`wake`](Detector::wake) must be called next, if ever.
    pub fn next_wake(&self) -> Option<Ms> {
        if self.done || self.hidden_at.is_some() {
            return None;
        }
        if let Some((at, _)) = self.pending {
            return Some(at);
        }
        match self.trigger {
            Trigger::Time(ms) => Some(self.start.saturating_add(ms)),
            Trigger::CartIdle(ms) if self.cart > 0 => Some(self.active.saturating_add(ms)),
            Trigger::Idle(ms) => Some(self.active.saturating_add(ms)),
            _ => None,
        }
    }

    /// Time passed: a grace period or a timed trigger may be due.
    pub fn wake(&mut self, now: Ms) -> Option<Fire> {
        if self.done || self.hidden_at.is_some() {
            return None;
        }
        if let Some((at, why)) = self.pending {
            if now >= at {
                self.pending = None;
                return self.fire(why);
            }
        }
        match self.trigger {
            Trigger::Time(ms) if now >= self.start.saturating_add(ms) => self.fire(Fire::Time),
            Trigger::CartIdle(ms) if self.cart > 0 && now >= self.active.saturating_add(ms) => {
                self.fire(Fire::CartIdle)
            }
            Trigger::Idle(ms) if now >= self.active.saturating_add(ms) => self.fire(Fire::Idle),
            _ => None,
        }
    }

    /// One sample at `now`. Returns what fired, if anything.
    pub fn handle(&mut self, now: Ms, sample: Sample) -> Option<Fire> {
        if self.done {
            return None;
        }
        let fired = self.sample(now, sample);
        fired.or_else(|| self.wake(now))
    }

    fn fire(&mut self, why: Fire) -> Option<Fire> {
        if self.hidden_at.is_some() {
            self.on_show = Some(why);
            return None;
        }
        self.done = true;
        Some(why)
    }

    fn armed(&self, now: Ms) -> bool {
        match &self.trigger {
            Trigger::Exit(e) => now.saturating_sub(self.start) >= e.min_time,
            _ => true,
        }
    }

    fn sample(&mut self, now: Ms, sample: Sample) -> Option<Fire> {
        match sample {
            Sample::Viewport {
                width,
                height,
                outer,
            } => {
                self.width = width;
                self.height = height;
                self.outer = outer.max(width);
            }
            Sample::Move { x, y, buttons: _ } => {
                self.active = now;
                self.moved = true;
                // Back inside: whatever leave was waiting was not an exit.
                self.pending = None;
                if y > self.band() {
                    self.deep = true;
                }
                push(&mut self.moves, (now, x, y));
            }
            Sample::Leave { x, y, buttons } => {
                let why = self.leave(now, x, y, buttons);
                self.moves.clear();
                self.deep = false;
                if let (Some(why), Some(e)) = (why, self.exit()) {
                    self.pending = Some((now.saturating_add(e.grace), why));
                }
            }
            Sample::Scroll { y, height } => {
                self.active = now;
                self.last_scroll = Some(now);
                self.max_scroll = self.max_scroll.max(y);
                push(&mut self.scrolls, (now, y));
                return self.scrolled(now, y, height);
            }
            Sample::Field(focused) => {
                self.field = focused;
                if focused {
                    self.pending = None;
                }
            }
            Sample::Key => {
                self.active = now;
                self.pending = None;
            }
            Sample::Hidden(true) => {
                self.hidden_at.get_or_insert(now);
                // The pointer may be anywhere when the page is seen again.
                self.moves.clear();
            }
            Sample::Hidden(false) => {
                let since = self.hidden_at.take()?;
                // Coming back is activity: the time away was not spent idle on the page.
                if matches!(self.trigger, Trigger::Idle(_)) {
                    self.active = now;
                }
                if let Some(why) = self.on_show.take() {
                    return self.fire(why);
                }
                let hidden_for = self.exit()?.hidden_for;
                if !self.hover && now.saturating_sub(since) >= hidden_for && self.armed(since) {
                    return self.fire(Fire::TabReturn);
                }
            }
            Sample::Gesture => {
                self.active = now;
                if self.exit().is_some_and(|e| e.back) && !self.hover && !self.pushed {
                    self.pushed = true;
                    self.push_now = true;
                }
            }
            Sample::Back => {
                if self.pushed && self.armed(now) {
                    return self.fire(Fire::Back);
                }
            }
            Sample::Cart(items) => {
                if items != self.cart {
                    self.active = now;
                }
                self.cart = items;
            }
        }
        None
    }

    fn exit(&self) -> Option<Exit> {
        match &self.trigger {
            Trigger::Exit(e) => Some(e.clone()),
            _ => None,
        }
    }

    fn band(&self) -> i32 {
        match &self.trigger {
            Trigger::Exit(e) => e.sensitivity,
            _ => 0,
        }
    }

    /// Whether a leave at (x, y) is an exit, and through which edge.
    fn leave(&self, now: Ms, x: i32, y: i32, buttons: u16) -> Option<Fire> {
        let Trigger::Exit(e) = &self.trigger else {
            return None;
        };
        if !self.hover || !self.moved || !self.armed(now) || buttons != 0 || self.field {
            return None;
        }
        if self
            .last_scroll
            .is_some_and(|t| now.saturating_sub(t) < SCROLL_QUIET)
        {
            return None;
        }
        // On the vertical scrollbar: between the content's width and the window's.
        if x >= self.width && x < self.outer && y >= 0 && y < self.height {
            return None;
        }
        // Where the pointer was when it left, however long it rested there: every move inside
        // the page is a sample.
        let &(_, last_x, last_y) = self.moves.last()?;
        let mut recent = self
            .moves
            .iter()
            .filter(|(t, _, _)| now.saturating_sub(*t) <= MOTION_WINDOW);
        let first_y = recent.next().map_or(last_y, |&(_, _, y)| y);
        // Two samples or more in the window show a path; fewer, one step to the leave.
        let path = recent.next().is_some();
        // The pointer was on the scrollbar just before (a drag that ended above the page).
        if last_x >= self.width && self.width < self.outer {
            return None;
        }
        let edge = if y <= e.sensitivity {
            Fire::Top
        } else if x <= 0 || x >= self.outer {
            Fire::Side
        } else if y >= self.height {
            Fire::Bottom
        } else {
            return None;
        };
        match edge {
            Fire::Top => {
                // One step from the last sample (recent or not) to above the page.
                let flick = !path && y < 0 && last_y.saturating_sub(y) >= FLICK;
                let upward = path && first_y > y && last_y >= y;
                // Entered from the toolbar and never went deeper than the band.
                (flick || (upward && self.deep)).then_some(Fire::Top)
            }
            Fire::Side => e.sides.then_some(Fire::Side),
            _ => e.bottom.then_some(Fire::Bottom),
        }
    }

    fn scrolled(&mut self, now: Ms, y: i32, height: i32) -> Option<Fire> {
        match self.trigger.clone() {
            Trigger::Depth(pct) if height > 0 && self.height != i32::MAX => {
                let bottom = i64::from(y) + i64::from(self.height);
                let reached = bottom * 100 >= i64::from(height) * i64::from(pct);
                reached.then(|| self.fire(Fire::Depth))?
            }
            Trigger::Exit(e) if !self.hover && self.armed(now) => {
                let (up, within) = (e.scroll_up, e.scroll_within);
                // The highest point of the last `within` ms, counting where the page was when
                // they began (the last sample before them: a jump is one sample), and a page
                // scrolled down before.
                let recent = self
                    .scrolls
                    .iter()
                    .position(|(t, _)| now.saturating_sub(*t) <= within)?;
                let from = self.scrolls[recent.saturating_sub(1)..]
                    .iter()
                    .map(|&(_, y)| y)
                    .max()?;
                (self.max_scroll >= up && from - y >= up).then(|| self.fire(Fire::ScrollUp))?
            }
            _ => None,
        }
    }
}

fn push<T>(v: &mut Vec<T>, item: T) {
    if v.len() == KEEP {
        v.remove(0);
    }
    v.push(item);
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
