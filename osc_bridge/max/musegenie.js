// The Live API part of musegenie.amxd, run by Max's `js` object (ES5: Max's JavaScript engine predates
// let, const and arrow functions). It reads the clip shown in Clip View, turns its loop brace into seconds
// of the file, fills the live.menus from the bridge's replies, pings the bridge, has the engine index each
// clip's file as soon as the clip is shown (so its first edit is as quick as later ones) and puts each
// result in the next empty clip slot of the clip's track. OSC requests that carry the region are built by
// the patch (the same objects as musegenie.maxpat); this script sends only pings and prepares.
autowatch = 0;
inlets = 1;
outlets = 8;

var OSC = 0, PATH = 1, START = 2, END = 3, ACTION_MENU = 4, INSTRUMENT_MENU = 5, STATUS = 6, REFRESH = 7;
var PING = "/musegenie/ping", PONG = "/musegenie/pong", ACTION = "/musegenie/action";
var INSTRUMENT = "/musegenie/instrument", DONE = "/musegenie/done", VARIANT = "/musegenie/variant";
var ERROR = "/musegenie/error", PROGRESS = "/musegenie/progress", PREPARE = "/musegenie/prepare";
var PING_MS = 3000;
var FIRST_ID = 1000000; // this script's requests count from here, above the patch's (1..100000): no mix-ups
var CREATE_AUDIO_CLIP_SINCE = [12, 0, 5];

var source = null; // the clip the region came from: {path, track, warping, warpMode}
var lastId = FIRST_ID;
var unanswered = null; // id of the last ping with no pong yet
var preparing = null; // {id, path} of the file the engine is indexing for this script
var prepared = null; // the last file the engine indexed (forgotten when the bridge goes away)
var waiting = null; // a file shown while another was being indexed: indexed next (only the latest)
var watcher = null; // the Live API object that reports each clip shown in Clip View
var bridge = ""; // what the last ping showed; said only when it changes, so results and errors stay up
var READY = "bridge ready";
var lists = {}; // request id -> {menu, names, notes} while an action or instrument list arrives
var descriptions = []; // action index -> what its edits do, shown when the action is picked
var pinger = new Task(tick, this);

function status(text) {
	outlet(STATUS, ["set"].concat(String(text).split(" ")));
}

function first(value) {
	return Array.isArray(value) ? value[0] : value;
}

function text(value) {
	return Array.isArray(value) ? value.join(" ") : String(value);
}

// The Live API quotes paths ("\"live_set tracks 0 ...\""); the path is needed bare to build slot paths.
function barePath(api) {
	return String(api.path).replace(/"/g, "");
}

// Seconds of the file at a beat of a warped clip: linear between the two warp markers around it, and
// along the nearest segment outside them (Live extends the first and last segments the same way).
function beatToSeconds(markers, beat) {
	var m = markers.slice().sort(function (a, b) { return a.beat_time - b.beat_time; });
	if (m.length < 2) {
		throw new Error("the clip has fewer than two warp markers: type the region in seconds");
	}
	var i = 0;
	while (i < m.length - 2 && beat > m[i + 1].beat_time) {
		i++;
	}
	var a = m[i], b = m[i + 1];
	return a.sample_time + (beat - a.beat_time) * (b.sample_time - a.sample_time) / (b.beat_time - a.beat_time);
}

// Live 11 and newer report a clip's warp markers as a JSON dict; older Lives have no such property.
function warpMarkers(clip) {
	var parsed;
	try {
		parsed = JSON.parse(text(clip.get("warp_markers")));
	} catch (e) {
		throw new Error("this Live does not report warp markers: unwarp the clip or type the region in seconds");
	}
	return parsed.warp_markers || parsed;
}

// [start_s, end_s] of the file under the clip's loop brace: an unwarped clip's loop is already in seconds,
// a warped clip's is in beats.
function regionSeconds(clip) {
	var start = Number(first(clip.get("loop_start"))), end = Number(first(clip.get("loop_end")));
	if (Number(first(clip.get("warping"))) !== 1) {
		return [start, end];
	}
	var markers = warpMarkers(clip);
	return [beatToSeconds(markers, start), beatToSeconds(markers, end)];
}

// Read the clip in Clip View and send its file and region to the patch's packs and number boxes.
function getclip() {
	var clip = new LiveAPI("live_set view detail_clip");
	if (Number(clip.id) === 0) {
		status("no clip in Clip View: double-click an audio clip");
		return;
	}
	if (Number(first(clip.get("is_audio_clip"))) !== 1) {
		status("the clip in Clip View is a MIDI clip: musegenie edits audio clips");
		return;
	}
	var track = /tracks (\d+)/.exec(barePath(clip));
	var region;
	try {
		region = regionSeconds(clip);
	} catch (e) {
		status(e.message);
		return;
	}
	source = {
		path: text(clip.get("file_path")),
		track: track ? Number(track[1]) : null,
		warping: Number(first(clip.get("warping"))),
		warpMode: Number(first(clip.get("warp_mode"))),
	};
	outlet(PATH, "symbol", source.path);
	outlet(START, region[0]);
	outlet(END, region[1]);
	status("clip: " + region[0].toFixed(2) + " to " + region[1].toFixed(2) + " s of " + source.path);
	prepare(source.path);
}

// Have the engine index a file now (/musegenie/prepare), while the user picks an action: the song's first
// edit is then as quick as later ones. One file at a time, so browsing clips cannot queue up work ahead of
// an edit; the file shown last waits its turn.
function prepare(path) {
	if (path === prepared) {
		return;
	}
	if (preparing !== null) {
		waiting = preparing.path === path ? null : path;
		status("indexing the song...");
		return;
	}
	lastId += 1;
	preparing = { id: lastId, path: path };
	outlet(OSC, PREPARE, lastId, path);
	status("indexing the song...");
}

// Live reports the clip Clip View shows ("detail_clip id N") whenever it changes: its file is indexed at
// once, before Get clip reads its region.
function clipShown(args) {
	if (args[0] !== "detail_clip") {
		return;
	}
	var clip = new LiveAPI("live_set view detail_clip");
	if (Number(clip.id) !== 0 && Number(first(clip.get("is_audio_clip"))) === 1) {
		prepare(text(clip.get("file_path")));
	}
}

// A reply to the prepare in flight: progress, then done ("ready") or an error; then the next file, if any.
function preparedReply(address, args) {
	if (address === PROGRESS) {
		status("indexing the song... " + Math.round(Number(args[1]) * 100) + "%");
		return;
	}
	if (address === DONE) {
		prepared = preparing.path;
		status("ready: the song is indexed");
	} else {
		status("error " + args[1] + ": " + text(args.slice(2)) + " (the song is indexed on its first edit)");
	}
	preparing = null;
	if (waiting !== null) {
		var next = waiting;
		waiting = null;
		prepare(next);
	}
}

// live.thisdevice (the Live API is ready) and the Get clip button both send bang.
function bang() {
	getclip();
	if (watcher === null) {
		watcher = new LiveAPI(clipShown, "live_set view");
		watcher.property = "detail_clip";
	}
	if (!pinger.running) {
		pinger.interval = PING_MS;
		pinger.repeat();
	}
}

// Each tick checks the previous ping: no pong within a whole interval means no bridge on 127.0.0.1:9000.
function tick() {
	if (unanswered !== null) {
		setBridge("bridge not running: start it with make serve (or musegenie osc-bridge)");
	}
	lastId += 1;
	unanswered = lastId;
	outlet(OSC, PING, lastId);
}

function setBridge(now) {
	if (now !== bridge) {
		// The menus are asked for whenever the bridge becomes ready, so starting it after Live is fine.
		if (now === READY) {
			outlet(REFRESH, "bang");
		}
		bridge = now;
		status(now);
		// A bridge (or engine) that went away takes its prepares with it: the clip is indexed again when ready.
		if (now !== READY) {
			preparing = null;
			prepared = null;
			waiting = null;
		} else if (source !== null) {
			prepare(source.path);
		}
	}
}

function liveVersion() {
	var app = new LiveAPI("live_app");
	return [
		Number(first(app.call("get_major_version"))),
		Number(first(app.call("get_minor_version"))),
		Number(first(app.call("get_bugfix_version"))),
	];
}

function atLeast(version, wanted) {
	for (var i = 0; i < wanted.length; i++) {
		if (version[i] !== wanted[i]) {
			return version[i] > wanted[i];
		}
	}
	return true;
}

function reveal(path) {
	messnamed("max", "launchbrowser", "file://" + path.replace(/[^/\\]*$/, ""));
}

// Put a result file in the first empty clip slot of the source clip's track, warped like the source;
// Lives before 12.0.5 have no create_audio_clip, so there the file is revealed for drag and drop.
function place(path, name) {
	if (!atLeast(liveVersion(), CREATE_AUDIO_CLIP_SINCE)) {
		reveal(path);
		status("Live before 12.0.5 cannot add clips: drag " + path + " into a slot (revealed)");
		return;
	}
	if (source === null || source.track === null) {
		status("result: " + path + " (no source clip to place it beside)");
		return;
	}
	var trackPath = "live_set tracks " + source.track;
	var slots = new LiveAPI(trackPath).getcount("clip_slots");
	for (var i = 0; i < slots; i++) {
		var slot = new LiveAPI(trackPath + " clip_slots " + i);
		if (Number(first(slot.get("has_clip"))) === 0) {
			slot.call("create_audio_clip", path);
			var clip = new LiveAPI(trackPath + " clip_slots " + i + " clip");
			clip.set("warping", source.warping);
			clip.set("warp_mode", source.warpMode);
			clip.set("name", name);
			status(name + " in slot " + (i + 1));
			return;
		}
	}
	status("no empty clip slot on track " + (source.track + 1) + ": the result is " + path);
}

function fillMenu(id, menu, index, name, note) {
	if (!lists[id]) {
		lists[id] = { menu: menu, names: [], notes: [] };
	}
	lists[id].names[index] = name;
	lists[id].notes[index] = note;
}

// The action menu's index (through `prepend describe`): a live.menu item has room for a name only.
function describe(index) {
	if (descriptions[index]) {
		status("action " + index + ": " + descriptions[index]);
	}
}

// Replies from udpreceive arrive as messages whose selector is the OSC address.
function reply(address, args) {
	var id = args[0];
	if (preparing !== null && id === preparing.id && address !== PONG) {
		preparedReply(address, args);
	} else if (address === PONG && id === unanswered) {
		unanswered = null;
		setBridge(args[1] === "SERVING" ? READY : "bridge up, engine not ready: " + text(args.slice(1)));
	} else if (address === ACTION) {
		fillMenu(id, ACTION_MENU, args[1], args[2], text(args.slice(3)));
	} else if (address === INSTRUMENT) {
		fillMenu(id, INSTRUMENT_MENU, args[1], args[2]);
	} else if (address === DONE && args.length >= 3) {
		place(args[1], "musegenie: " + text(args.slice(2)));
	} else if (address === DONE && lists[id]) {
		// live.menu takes its whole item list at once; an empty list (no instruments) keeps a placeholder.
		var names = lists[id].names.length ? lists[id].names : ["-"];
		outlet(lists[id].menu, ["_parameter_range"].concat(names));
		if (lists[id].menu === ACTION_MENU) {
			descriptions = lists[id].notes;
		}
		delete lists[id];
	} else if (address === VARIANT) {
		place(args[2], "musegenie action " + args[1] + ": " + text(args.slice(3)));
	} else if (address === ERROR) {
		status("error " + args[1] + ": " + text(args.slice(2)));
	} else if (address === PROGRESS) {
		status("working: " + Math.round(Number(args[1]) * 100) + "%");
	}
}

function anything() {
	reply(messagename, arrayfromargs(arguments));
}
