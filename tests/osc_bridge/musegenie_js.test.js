// The device's Live API script (osc_bridge/max/musegenie.js) under node, with a test double standing in
// for Live: a set of objects by path, as LiveAPI sees them. Run by test_max_device.py through `node --test`.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SCRIPT = fs.readFileSync(path.join(__dirname, "..", "..", "osc_bridge", "max", "musegenie.js"), "utf8");
const FILE = "/Users/me/Music/take 1.wav";

// A Live set: `objects` maps a bare path to its properties; LiveAPI.get returns lists as Live does. An
// object made with a callback (an observer) is kept in `watchers`: the test calls it as Live would.
function liveSet(objects, version) {
  const calls = [];
  const watchers = [];
  class LiveAPI {
    constructor(callback, p) {
      if (typeof callback === "function") {
        watchers.push({ api: this, callback });
      } else {
        p = callback;
      }
      this.bare = p;
      this.obj = objects[p];
      this.id = this.obj ? 1 : 0;
      this.path = `"${p}"`;
    }
    get(prop) {
      return [this.obj[prop]];
    }
    set(prop, value) {
      this.obj[prop] = value;
      calls.push(["set", this.bare, prop, value]);
    }
    getcount(prop) {
      return this.obj[prop];
    }
    call(name, ...args) {
      calls.push(["call", this.bare, name, ...args]);
      if (name === "create_audio_clip") {
        if (!("create_audio_clip" in this.obj)) throw new Error("no create_audio_clip");
        this.obj.has_clip = 1;
        objects[`${this.bare} clip`] = {};
      }
      return { get_major_version: version[0], get_minor_version: version[1], get_bugfix_version: version[2] }[name];
    }
  }
  return { LiveAPI, calls, watchers };
}

// Load the script in a fresh context: outlets, messnamed and Task are recorded or driven by the test.
function load(objects, version = [12, 1, 0]) {
  const live = liveSet(objects, version);
  const out = [];
  const sent = [];
  const tasks = [];
  class Task {
    constructor(fn) {
      this.fn = fn;
      this.running = false;
      tasks.push(this);
    }
    repeat() {
      this.running = true;
    }
  }
  const ctx = {
    LiveAPI: live.LiveAPI,
    Task,
    outlet: (n, ...args) => out.push([n, ...args.flat()]),
    messnamed: (...args) => sent.push(args),
    arrayfromargs: (a) => Array.from(a),
  };
  vm.createContext(ctx);
  vm.runInContext(SCRIPT, ctx);
  const receive = (address, ...args) => {
    ctx.messagename = address;
    ctx.anything(...args);
  };
  const status = () => out.filter((o) => o[0] === 6).map((o) => o.slice(2).join(" ")).pop();
  const prepares = () => out.filter((o) => o[0] === 0 && o[1] === "/musegenie/prepare");
  const show = (clip) => {
    objects["live_set view detail_clip"] = clip;
    for (const w of live.watchers) if (w.api.property === "detail_clip") w.callback.call(w.api, ["detail_clip", "id", 3]);
  };
  return { ctx, out, sent, calls: live.calls, tick: () => tasks[0].fn(), receive, status, prepares, show };
}

function track(clip, hasClips) {
  const objects = { "live_set view detail_clip": clip, "live_set tracks 2": { clip_slots: hasClips.length } };
  hasClips.forEach((has, i) => {
    objects[`live_set tracks 2 clip_slots ${i}`] = { has_clip: has, create_audio_clip: null };
  });
  objects.live_app = {};
  return objects;
}

const unwarped = () => ({ is_audio_clip: 1, file_path: FILE, loop_start: 2.5, loop_end: 6, warping: 0, warp_mode: 0 });
// Markers: beat 0 at 0 s, beat 4 at 2 s (120 bpm), beat 8 at 5 s (80 bpm).
const MARKERS = { warp_markers: [{ beat_time: 8, sample_time: 5 }, { beat_time: 0, sample_time: 0 }, { beat_time: 4, sample_time: 2 }] };
const warped = (start, end) => ({ is_audio_clip: 1, file_path: FILE, loop_start: start, loop_end: end, warping: 1, warp_mode: 4, warp_markers: JSON.stringify(MARKERS) });
function region(d) {
  return [d.out.find((o) => o[0] === 1), d.out.find((o) => o[0] === 2)[1], d.out.find((o) => o[0] === 3)[1]];
}

test("an unwarped clip's loop brace is already seconds of its file", () => {
  const d = load(track(unwarped(), [1]));
  d.ctx.bang();
  const [p, start, end] = region(d);
  assert.deepStrictEqual(p, [1, "symbol", FILE]);
  assert.deepStrictEqual([start, end], [2.5, 6]);
});

test("a warped clip's loop brace goes through the warp markers, also past the last one", () => {
  const d = load(track(warped(2, 6), [1]));
  d.ctx.bang();
  assert.deepStrictEqual(region(d).slice(1), [1.0, 3.5]); // beat 2: 0 + 2 * 0.5; beat 6: 2 + 2 * 0.75
  const far = load(track(warped(9, 10), [1]));
  far.ctx.bang();
  assert.deepStrictEqual(region(far).slice(1), [5.75, 6.5]); // the 80 bpm segment extended
});

test("a warped clip whose markers Live does not report asks for the region in seconds", () => {
  const clip = warped(2, 6);
  delete clip.warp_markers;
  const d = load(track(clip, [1]));
  d.ctx.getclip();
  assert.match(d.status(), /does not report warp markers/);
  assert.ok(!d.out.some((o) => o[0] >= 1 && o[0] <= 3));
});

test("no clip or a MIDI clip is said, and nothing is sent to the packs", () => {
  const none = load({});
  none.ctx.getclip();
  assert.match(none.status(), /no clip in Clip View/);
  const midi = load(track({ is_audio_clip: 0 }, [1]));
  midi.ctx.getclip();
  assert.match(midi.status(), /MIDI clip/);
  assert.ok(!midi.out.some((o) => o[0] >= 1 && o[0] <= 3));
});

// The double's LiveAPI reads `path` from construction; the detail clip must report its slot's path.
function sessionClip(clip, hasClips, version) {
  const objects = track(clip, hasClips);
  const d = load(objects, version);
  const Base = d.ctx.LiveAPI;
  d.ctx.LiveAPI = class extends Base {
    constructor(p) {
      super(p);
      if (p === "live_set view detail_clip") this.path = '"live_set tracks 2 clip_slots 0 clip"';
    }
  };
  d.objects = objects;
  return d;
}

test("done puts the result in the first empty slot of the clip's track, warped like the source", () => {
  const d = sessionClip(warped(2, 6), [1, 1, 0, 0]);
  d.ctx.getclip();
  d.receive("/musegenie/done", 7, "/tmp/out/edit-7.wav", "song 0:42.0-0:46.0");
  assert.deepStrictEqual(d.calls.filter((c) => c[2] === "create_audio_clip"), [
    ["call", "live_set tracks 2 clip_slots 2", "create_audio_clip", "/tmp/out/edit-7.wav"],
  ]);
  const clip = d.objects["live_set tracks 2 clip_slots 2 clip"];
  assert.deepStrictEqual([clip.warping, clip.warp_mode], [1, 4]);
  assert.strictEqual(clip.name, "musegenie: song 0:42.0-0:46.0");
  assert.match(d.status(), /in slot 3/);
});

test("a variant goes in a slot too, named by its action and material", () => {
  const d = sessionClip(unwarped(), [1, 0]);
  d.ctx.getclip();
  d.receive("/musegenie/variant", 8, 3, "/tmp/out/x.wav", "generated", "(no", "match)");
  assert.strictEqual(d.objects["live_set tracks 2 clip_slots 1 clip"].name, "musegenie action 3: generated (no match)");
});

test("no empty slot: a clear message with the file, and no clip created", () => {
  const d = sessionClip(unwarped(), [1, 1]);
  d.ctx.getclip();
  d.receive("/musegenie/done", 7, "/tmp/out/edit-7.wav", "generated");
  assert.ok(!d.calls.some((c) => c[2] === "create_audio_clip"));
  assert.strictEqual(d.status(), "no empty clip slot on track 3: the result is /tmp/out/edit-7.wav");
});

test("Live before 12.0.5 has no create_audio_clip: the file's folder is revealed instead", () => {
  const d = sessionClip(unwarped(), [0], [12, 0, 4]);
  d.ctx.getclip();
  d.receive("/musegenie/done", 7, "/tmp/out/edit-7.wav", "generated");
  assert.ok(!d.calls.some((c) => c[2] === "create_audio_clip"));
  assert.deepStrictEqual(d.sent, [["max", "launchbrowser", "file:///tmp/out/"]]);
  assert.match(d.status(), /drag \/tmp\/out\/edit-7.wav/);
});

test("an error reply is shown in the device", () => {
  const d = load({});
  d.receive("/musegenie/error", 4, "OUT_OF_RANGE", "region", "ends", "past", "the", "file");
  assert.strictEqual(d.status(), "error OUT_OF_RANGE: region ends past the file");
});

test("pings: an unanswered one means the bridge is not running; a pong brings it back and asks for the menus", () => {
  const d = load({});
  d.ctx.bang();
  d.tick();
  const ping = d.out.filter((o) => o[0] === 0).pop();
  assert.strictEqual(ping[1], "/musegenie/ping");
  assert.ok(Number.isInteger(ping[2]) && ping.length === 3);
  d.tick();
  assert.match(d.status(), /^bridge not running/);
  const last = d.out.filter((o) => o[0] === 0).pop()[2];
  d.receive("/musegenie/pong", last, "SERVING");
  assert.strictEqual(d.status(), "bridge ready");
  assert.deepStrictEqual(d.out.filter((o) => o[0] === 7), [[7, "bang"]]); // ask for the menus now
  d.receive("/musegenie/error", 9, "INVALID_ARGUMENT", "bad", "file");
  d.tick();
  d.receive("/musegenie/pong", last + 1, "SERVING");
  assert.strictEqual(d.status(), "error INVALID_ARGUMENT: bad file"); // an unchanged bridge stays quiet
  assert.strictEqual(d.out.filter((o) => o[0] === 7).length, 1);
  d.tick();
  d.receive("/musegenie/pong", last + 2, "UNAVAILABLE:", "no", "bundle");
  assert.match(d.status(), /engine not ready: UNAVAILABLE: no bundle/);
  d.tick();
  d.receive("/musegenie/pong", last + 3, "SERVING");
  assert.strictEqual(d.out.filter((o) => o[0] === 7).length, 2); // ready again: the bundle may have changed
});

test("action and instrument lists fill their live.menus in one message when done arrives", () => {
  const d = load({});
  d.receive("/musegenie/action", 2, 1, "busier", "more", "notes");
  d.receive("/musegenie/action", 2, 0, "sparse", "fewer notes");
  assert.ok(!d.out.some((o) => o[0] === 4));
  d.receive("/musegenie/done", 2);
  d.receive("/musegenie/done", 3); // the instrument request: an unconditioned bundle lists none
  assert.deepStrictEqual(d.out.filter((o) => o[0] === 4), [[4, "_parameter_range", "sparse", "busier"]]);
  d.ctx.describe(1);
  assert.strictEqual(d.status(), "action 1: more notes");
  assert.ok(!d.out.some((o) => o[0] === 5));
  d.receive("/musegenie/instrument", 5, 0, "sax");
  d.receive("/musegenie/done", 5);
  assert.deepStrictEqual(d.out.filter((o) => o[0] === 5), [[5, "_parameter_range", "sax"]]);
});

test("the clip's file is indexed at once: indexing, progress, then ready; the same file is not sent again", () => {
  const d = load(track(unwarped(), [1]));
  d.ctx.getclip();
  const [[, address, id, file]] = d.prepares();
  assert.deepStrictEqual([address, file], ["/musegenie/prepare", FILE]);
  assert.ok(Number.isInteger(id) && id > 100000); // never one of the patch's ids
  assert.strictEqual(d.status(), "indexing the song...");
  d.receive("/musegenie/progress", id, 0.5);
  assert.strictEqual(d.status(), "indexing the song... 50%");
  d.receive("/musegenie/done", id);
  assert.strictEqual(d.status(), "ready: the song is indexed");
  d.ctx.getclip();
  assert.strictEqual(d.prepares().length, 1);
});

test("each clip Clip View shows is indexed; one at a time, and only the latest waits", () => {
  const other = (name) => ({ ...unwarped(), file_path: `/Users/me/Music/${name}.wav` });
  const d = load(track(unwarped(), [1]));
  d.ctx.bang(); // reads the clip and starts watching Clip View
  const [[, , first]] = d.prepares();
  d.show(other("b"));
  d.show({ is_audio_clip: 0 }); // a MIDI clip: nothing to index
  d.show(other("c"));
  assert.strictEqual(d.prepares().length, 1); // the engine is busy with the first
  d.receive("/musegenie/done", first);
  const sent = d.prepares().map((o) => o[3]);
  assert.deepStrictEqual(sent, [FILE, "/Users/me/Music/c.wav"]); // b was passed over for c
  assert.strictEqual(d.status(), "indexing the song...");
});

test("a refused prepare is said; a bridge that went away is asked again once it is back", () => {
  const d = load(track(unwarped(), [1]));
  d.ctx.bang();
  const [[, , id]] = d.prepares();
  d.receive("/musegenie/error", id, "INVALID_ARGUMENT", "not", "readable", "audio");
  assert.strictEqual(d.status(), "error INVALID_ARGUMENT: not readable audio (the song is indexed on its first edit)");
  d.ctx.getclip(); // Get clip tries again
  assert.strictEqual(d.prepares().length, 2);
  d.receive("/musegenie/done", d.prepares()[1][2]);
  d.tick();
  d.tick(); // no pong: the bridge is gone, and what it indexed may be too
  const ping = d.out.filter((o) => o[1] === "/musegenie/ping").pop()[2];
  d.receive("/musegenie/pong", ping, "SERVING");
  assert.strictEqual(d.prepares().length, 3);
  assert.strictEqual(d.status(), "indexing the song...");
});
