// The floor of the script row of scripts/bench-big-store.sh: a reducer that does nothing,
// so what it costs is the engine receiving each event (QuickJS's JSON.parse of the event
// text and one call), with no handler work.
fromCategory("account").when({ $init() { return {}; }, $any() {} });
