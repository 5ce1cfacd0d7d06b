//! The model of the page and its reducer: every change of state is an
//! [`Action`] given to [`Model::update`], which returns the next model.
//! No web-sys here: the Yew app (`app/`) wraps it as its reducer, and the
//! host tests (`state/tests.rs`) drive it directly.

use std::rc::Rc;

use casulo_trace::replay::World;

use super::{Listed, Live, Loaded};
use crate::embed::Embed;

/// What the main area shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum View {
    Replay,
    Diff,
}

/// The whole state of the page.
#[derive(Clone)]
pub struct Model {
    pub trace: Option<Rc<Loaded>>,
    /// A second trace to compare with the first.
    pub other: Option<Rc<Loaded>>,
    /// Events applied: 0 (before the first) ..= len. The selected event is `pos - 1`.
    pub pos: usize,
    pub world: Rc<World>,
    /// Which look of the world the panels draw: bumped with every new
    /// world except a move across usage samples only ([`Loaded::only_samples`]),
    /// which changes nothing a panel draws but the cgroups' chart and the
    /// events' list. The other panels compare it instead of the world, so
    /// scrubbing a long run redraws two panels, not all of them.
    pub scene: u64,
    pub playing: bool,
    /// Events per second while playing.
    pub speed: u32,
    pub error: Option<String>,
    pub loading: Option<String>,
    pub large: bool,
    pub view: View,
    /// Embed mode (`embed=1`, for the course): compact, one trace, a range.
    pub compact: bool,
    /// The embed's parameters, when they are right.
    pub embed: Option<Rc<Embed>>,
    /// The positions the player may reach, `lo..=hi`: the whole trace
    /// (0..=len), or in embed mode the range `de..=ate`.
    pub lo: usize,
    pub hi: usize,
    /// The traces of this machine (`traces/`), newest first.
    pub listed: Rc<Vec<Listed>>,
    /// `?ao-vivo=ID`: following a running container (see [`Live`]).
    pub live: Option<Live>,
    /// A position asked for beyond the events read so far (a scrub, a
    /// `#evento=N`, "End" while a big trace is read in chunks): the
    /// player goes there as soon as it is read.
    pub wanted: Option<usize>,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            trace: None,
            other: None,
            pos: 0,
            world: Rc::new(World::new()),
            scene: 0,
            playing: false,
            speed: 4,
            error: None,
            loading: None,
            large: false,
            view: View::Replay,
            compact: false,
            embed: None,
            lo: 0,
            hi: 0,
            listed: Rc::new(vec![]),
            live: None,
            wanted: None,
        }
    }
}

impl Model {
    /// The page as its URL asks: embed mode or not, and in embed mode, the
    /// error of a wrong parameter (shown instead of the trace).
    pub fn from_params(params: &crate::embed::Params) -> Model {
        let mut m = Model::default();
        match crate::embed::parse(params) {
            Ok(None) => {}
            Ok(Some(e)) => {
                m.compact = true;
                m.embed = Some(Rc::new(e));
            }
            Err(msg) => {
                m.compact = true;
                m.error = Some(msg);
            }
        }
        if let Some(key) = params
            .get("ao-vivo")
            .filter(|k| !k.is_empty() && !m.compact)
        {
            m.live = Some(Live::new(key.clone()));
            m.loading = Some(format!("ao vivo: {key}"));
        }
        m
    }
}

pub enum Action {
    Loading(String),
    /// A trace and, optionally, the event (`seq`) to open it at.
    Loaded(Rc<Loaded>, Option<u64>),
    /// More of the trace open (the next chunks of a big one, read after
    /// the first drawing): the same replay, longer.
    More(Rc<Loaded>),
    /// A later chunk of the trace open was wrong: the trace goes, the
    /// message (naming the line) stays.
    Broken(String),
    LoadedOther(Rc<Loaded>),
    Failed(String),
    Seek(usize),
    /// Go to the event numbered `seq` (a `#evento=N` link).
    SeekSeq(u64),
    Step(isize),
    Tick,
    TogglePlay,
    Speed(u32),
    ToggleLarge,
    ShowView(View),
    CloseOther,
    /// The machine's traces arrived.
    Listed(Rc<Vec<Listed>>),
    /// Live mode: the stream (re)started with the trace's header.
    LiveConnected,
    /// Live mode: the trace so far, read again with the new events.
    LiveUpdate(Rc<Loaded>),
    /// Live mode: `fim` (the exit code, when known).
    LiveEnded(Option<i64>),
    /// Live mode: the connection dropped (the browser retries).
    LiveLost,
    /// Live mode: "pausar"/"seguir".
    ToggleFollow,
}

impl Model {
    /// The model after `action`: each action's own method below.
    pub fn update(&self, action: Action) -> Model {
        let mut m = self.clone();
        match action {
            Action::Loading(what) => {
                m.loading = Some(what);
                m.error = None;
            }
            Action::Loaded(t, seq) => m.open(t, seq),
            Action::More(t) => m.more(t),
            Action::Broken(msg) => m.broken(msg),
            Action::LoadedOther(t) => {
                (m.loading, m.error) = (None, None);
                m.other = Some(t);
                m.view = View::Diff;
            }
            Action::Failed(msg) => {
                m.loading = None;
                m.error = Some(msg);
            }
            Action::Seek(n) => {
                m.stop_following();
                m.seek(n)
            }
            Action::SeekSeq(seq) => {
                if let Some(n) = m.trace.as_ref().map(|t| t.pos_of_seq(seq)) {
                    m.seek(n);
                }
            }
            Action::Step(d) => m.step(d),
            Action::Tick => m.tick(),
            Action::TogglePlay => m.toggle_play(),
            Action::Speed(s) => m.speed = s.max(1),
            Action::ToggleLarge => m.large = !m.large,
            Action::ShowView(v) => m.view = v,
            Action::CloseOther => {
                m.other = None;
                m.view = View::Replay;
            }
            Action::Listed(l) => m.listed = l,
            Action::LiveConnected => {
                if let Some(l) = &mut m.live {
                    l.reconnecting = false;
                }
            }
            Action::LiveUpdate(t) => m.live_update(t),
            Action::LiveEnded(code) => {
                if let Some(l) = &mut m.live {
                    l.ended = Some(code);
                    l.reconnecting = false;
                }
            }
            Action::LiveLost => {
                if let Some(l) = m.live.as_mut().filter(|l| l.ended.is_none()) {
                    l.reconnecting = true;
                }
            }
            Action::ToggleFollow => m.toggle_follow(),
        }
        m
    }

    /// A trace opened, at the event `seq` when given.
    fn open(&mut self, t: Rc<Loaded>, seq: Option<u64>) {
        self.loading = None;
        self.error = None;
        self.playing = false;
        if self.other.is_none() {
            self.view = View::Replay;
        }
        // Embed mode: only `de..=ate`, opened at `de` (applied).
        let (lo, hi, pos) = match &self.embed {
            Some(e) => match e.range(t.seq_bounds()) {
                Ok((from, to)) => {
                    let lo = t.pos_of_seq(from);
                    (lo, t.pos_of_seq(to), lo)
                }
                Err(msg) => {
                    self.error = Some(msg);
                    self.trace = None;
                    return;
                }
            },
            // The whole trace, even the part still being read.
            None => (0, t.total, seq.map_or(0, |s| t.pos_of_seq(s))),
        };
        self.set_world(World::new());
        (self.lo, self.hi, self.pos, self.wanted) = (lo, hi, 0, None);
        self.trace = Some(t);
        self.seek(pos);
    }

    /// More of the trace open was read (not of another opened since).
    fn more(&mut self, t: Rc<Loaded>) {
        if !self.trace.as_ref().is_some_and(|cur| cur.same_trace(&t)) {
            return;
        }
        self.trace = Some(t);
        // The world at `pos` stays right: the events only grew.
        if let Some(n) = self.wanted {
            self.seek(n);
        }
    }

    /// A later chunk was wrong: the trace goes, its message stays.
    fn broken(&mut self, msg: String) {
        self.loading = None;
        self.error = Some(msg);
        self.trace = None;
        self.playing = false;
        self.set_world(World::new());
        (self.lo, self.hi, self.pos, self.wanted) = (0, 0, 0, None);
    }

    /// One event forward or back: playback stops.
    fn step(&mut self, d: isize) {
        self.playing = false;
        self.stop_following();
        let n = self.pos.saturating_add_signed(d);
        self.seek(n);
    }

    /// Playback's next event. It stops at the last reachable event (`ate`
    /// in embed mode); it waits at the last one read while more is read.
    fn tick(&mut self) {
        if self.pos >= self.hi {
            self.playing = false;
        } else {
            self.seek(self.pos + 1);
        }
    }

    /// Play or pause; playing from the end starts over.
    fn toggle_play(&mut self) {
        self.playing = !self.playing && self.trace.is_some() && self.hi > self.lo;
        if self.playing && self.pos >= self.hi {
            self.seek(self.lo);
        }
    }

    /// Live mode: the trace so far; at its end while following.
    fn live_update(&mut self, t: Rc<Loaded>) {
        self.loading = None;
        self.error = None;
        let follow = self.live.as_ref().is_some_and(|l| l.follow);
        let len = t.len();
        let pos = if follow || self.trace.is_none() {
            len
        } else {
            self.pos.min(len)
        };
        self.set_world(t.replay().world_at(pos));
        (self.lo, self.hi, self.pos, self.wanted) = (0, len, pos, None);
        self.trace = Some(t);
    }

    /// Live mode: "pausar"/"seguir"; following goes to the newest event.
    fn toggle_follow(&mut self) {
        let Some(l) = &mut self.live else { return };
        l.follow = !l.follow;
        if l.follow {
            self.playing = false;
            let hi = self.hi;
            self.seek(hi);
        }
    }
}

impl Model {
    /// A move of the teacher's own stops the live view from following.
    fn stop_following(&mut self) {
        if let Some(l) = &mut self.live {
            l.follow = false;
        }
    }

    /// Moves to position `n` (clamped to `lo..=hi`): one `apply` when it is
    /// the next event, the nearest checkpoint otherwise. A position not
    /// read yet is [`Model::wanted`]: the player waits at the last event
    /// read and goes on when more arrives ([`Action::More`]).
    fn seek(&mut self, n: usize) {
        let Some(t) = &self.trace else { return };
        let n = n.clamp(self.lo, self.hi.max(self.lo));
        self.wanted = (n > t.len()).then_some(n);
        let n = n.min(t.len());
        if n == self.pos {
            return;
        }
        let quiet = t.only_samples(self.pos, n);
        let world = t.replay().advance(&self.world, n);
        self.world = Rc::new(world);
        if !quiet {
            self.scene += 1;
        }
        self.pos = n;
    }

    /// A new world, unlike the last: every panel draws it.
    fn set_world(&mut self, world: World) {
        self.world = Rc::new(world);
        self.scene += 1;
    }
}
