//! `tracing` as the second sink: reports and lock events reach the subscriber a program already
//! has, and `TraceFileLayer` turns lock events back into a replayable trace.

use std::sync::Arc;

use lockdep::replay::{ClassRefinement, Replayer};
use lockdep::{Config, Mutex, OnReport, TraceFileLayer, Validator};
use parking_lot::Mutex as PlMutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Clone, Debug)]
struct Seen {
    target: String,
    level: tracing::Level,
    fields: Vec<(String, String)>,
}

impl Seen {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Collect(Arc<PlMutex<Vec<Seen>>>);

struct Fields(Vec<(String, String)>);
impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.push((
            f.name().to_string(),
            format!("{v:?}").trim_matches('"').to_string(),
        ));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Collect {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields(Vec::new());
        e.record(&mut f);
        self.0.lock().push(Seen {
            target: e.metadata().target().to_string(),
            level: *e.metadata().level(),
            fields: f.0,
        });
    }
}

fn abba() {
    let a = Mutex::with_name("A", ());
    let b = Mutex::with_name("B", ());
    drop((a.lock(), b.lock()));
    let _b = b.lock();
    let _a = a.lock();
}

#[test]
fn reports_are_warnings_with_structured_fields() {
    let seen = Collect::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    let reports = tracing::subscriber::with_default(subscriber, || lockdep::capture(abba));
    assert_eq!(reports.len(), 1);
    let events = seen.0.lock().clone();
    let report_events: Vec<&Seen> = events
        .iter()
        .filter(|e| e.target == lockdep::REPORT_TARGET)
        .collect();
    assert_eq!(report_events.len(), 1, "{events:#?}");
    let e = report_events[0];
    assert_eq!(e.level, tracing::Level::WARN);
    assert_eq!(e.field("kind"), Some("circular_dependency"));
    assert!(
        e.field("report")
            .unwrap()
            .contains("possible circular locking dependency detected")
    );
    // Lock events stay off unless asked for.
    assert!(events.iter().all(|e| e.target != lockdep::EVENT_TARGET));
}

#[test]
fn lock_events_at_a_chosen_level() {
    let seen = Collect::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.set_tracing_level(Some(tracing::Level::DEBUG));
    tracing::subscriber::with_default(subscriber, || {
        v.scope(|| drop(Mutex::with_name("m", ()).lock()))
    });
    let events: Vec<Seen> = seen
        .0
        .lock()
        .iter()
        .filter(|e| e.target == lockdep::EVENT_TARGET)
        .cloned()
        .collect();
    let ops: Vec<&str> = events.iter().filter_map(|e| e.field("op")).collect();
    assert_eq!(ops, vec!["acquire", "release", "thread_exit"]);
    assert!(events.iter().all(|e| e.level == tracing::Level::DEBUG));
    assert_eq!(events[0].field("class"), Some("m"));
    assert!(events[0].field("at").unwrap().contains("tracing_sink.rs"));
    v.set_tracing_level(None);
    assert!(!v.is_recording());
}

#[derive(Clone, Default)]
struct Buf(Arc<PlMutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn trace_file_layer_writes_a_replayable_trace() {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::registry().with(TraceFileLayer::new(buf.clone()));
    let v = Validator::with_on_report(Config::default(), OnReport::Collect);
    v.set_tracing_level(Some(tracing::Level::TRACE));
    tracing::subscriber::with_default(subscriber, || v.scope(abba));
    let live = v.take_reports();
    assert_eq!(live.len(), 1);
    let text = String::from_utf8(buf.0.lock().clone()).unwrap();
    let mut r = Replayer::new(Config::default(), ClassRefinement::default());
    let mut replayed = Vec::new();
    for line in text.lines() {
        let ev = lockdep::trace::parse_line(line).unwrap().unwrap();
        replayed.extend(r.apply(&ev).unwrap());
    }
    assert_eq!(replayed.len(), 1, "{text}");
    assert_eq!(replayed[0].cycle(), live[0].cycle());
}
