{
 "patcher": {
  "fileversion": 1,
  "appversion": {
   "major": 8,
   "minor": 6,
   "revision": 0,
   "architecture": "x64",
   "modernui": 1
  },
  "classnamespace": "box",
  "rect": [
   80.0,
   80.0,
   1100.0,
   760.0
  ],
  "bglocked": 0,
  "openinpresentation": 0,
  "default_fontsize": 12.0,
  "default_fontface": 0,
  "default_fontname": "Arial",
  "gridonopen": 1,
  "gridsize": [
   15.0,
   15.0
  ],
  "boxes": [
   {
    "box": {
     "id": "title",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      10,
      760,
      20
     ],
     "text": "musegenie: drop a file, set the region, pick an action, Edit. Start the bridge first: make serve (OSC in 9000, replies 9001)."
    }
   },
   {
    "box": {
     "id": "drop",
     "maxclass": "dropfile",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      20,
      40,
      300,
      60
     ],
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "dropc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      30,
      60,
      280,
      20
     ],
     "text": "drop an audio file here"
    }
   },
   {
    "box": {
     "id": "conf",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      20,
      110,
      150,
      22
     ],
     "text": "conformpath slash boot",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "tpath",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      20,
      140,
      60,
      22
     ],
     "text": "t s s s",
     "outlettype": [
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "repin",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      200,
      180,
      100,
      22
     ],
     "text": "prepend replace",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "bufin",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      200,
      210,
      110,
      22
     ],
     "text": "buffer~ mg_in",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "wavin",
     "maxclass": "waveform~",
     "numinlets": 5,
     "numoutlets": 6,
     "patching_rect": [
      330,
      40,
      420,
      80
     ],
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "buffername": "mg_in"
    }
   },
   {
    "box": {
     "id": "startc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      250,
      60,
      20
     ],
     "text": "start (s)"
    }
   },
   {
    "box": {
     "id": "start",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      20,
      270,
      60,
      22
     ],
     "outlettype": [
      "",
      ""
     ],
     "minimum": 0.0
    }
   },
   {
    "box": {
     "id": "endc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      90,
      250,
      60,
      20
     ],
     "text": "end (s)"
    }
   },
   {
    "box": {
     "id": "end",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      90,
      270,
      60,
      22
     ],
     "outlettype": [
      "",
      ""
     ],
     "minimum": 0.0
    }
   },
   {
    "box": {
     "id": "menuc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      160,
      250,
      120,
      20
     ],
     "text": "action"
    }
   },
   {
    "box": {
     "id": "menu",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      160,
      270,
      160,
      22
     ],
     "outlettype": [
      "",
      "",
      ""
     ],
     "items": []
    }
   },
   {
    "box": {
     "id": "editb",
     "maxclass": "textbutton",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      20,
      310,
      80,
      24
     ],
     "outlettype": [
      "",
      "",
      ""
     ],
     "text": "Edit"
    }
   },
   {
    "box": {
     "id": "explb",
     "maxclass": "textbutton",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      110,
      310,
      80,
      24
     ],
     "outlettype": [
      "",
      "",
      ""
     ],
     "text": "Explore"
    }
   },
   {
    "box": {
     "id": "refb",
     "maxclass": "textbutton",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      200,
      310,
      120,
      24
     ],
     "outlettype": [
      "",
      "",
      ""
     ],
     "text": "Refresh actions"
    }
   },
   {
    "box": {
     "id": "lb",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      330,
      310,
      60,
      22
     ],
     "text": "loadbang",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "cnt",
     "maxclass": "newobj",
     "numinlets": 5,
     "numoutlets": 4,
     "patching_rect": [
      20,
      350,
      80,
      22
     ],
     "text": "counter 1 100000",
     "outlettype": [
      "",
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "gate",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 4,
     "patching_rect": [
      20,
      410,
      60,
      22
     ],
     "text": "gate 4",
     "outlettype": [
      "",
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "sel_e",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      110,
      380,
      30,
      22
     ],
     "text": "1",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "sel_x",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      150,
      380,
      30,
      22
     ],
     "text": "2",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "sel_a",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      190,
      380,
      30,
      22
     ],
     "text": "3",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "tre",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      250,
      350,
      50,
      22
     ],
     "text": "t b b b",
     "outlettype": [
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "trx",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      310,
      350,
      50,
      22
     ],
     "text": "t b b",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "tra",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 6,
     "patching_rect": [
      370,
      350,
      100,
      22
     ],
     "text": "t b b b b b b",
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "clr",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      440,
      380,
      40,
      22
     ],
     "text": "clear",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pke",
     "maxclass": "newobj",
     "numinlets": 5,
     "numoutlets": 1,
     "patching_rect": [
      20,
      450,
      140,
      22
     ],
     "text": "pack 0 s 0. 0. 0",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pkx",
     "maxclass": "newobj",
     "numinlets": 4,
     "numoutlets": 1,
     "patching_rect": [
      180,
      450,
      120,
      22
     ],
     "text": "pack 0 s 0. 0.",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pre",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      20,
      505,
      140,
      22
     ],
     "text": "prepend /musegenie/edit",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "prx",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      180,
      480,
      150,
      22
     ],
     "text": "prepend /musegenie/explore",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pra",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      340,
      480,
      150,
      22
     ],
     "text": "prepend /musegenie/actions",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "send",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      520,
      160,
      22
     ],
     "text": "udpsend 127.0.0.1 9000"
    }
   },
   {
    "box": {
     "id": "recv",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      420,
      520,
      110,
      22
     ],
     "text": "udpreceive 9001",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "route",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 8,
     "patching_rect": [
      420,
      550,
      560,
      22
     ],
     "text": "route /musegenie/action /musegenie/progress /musegenie/done /musegenie/error /musegenie/variant /musegenie/pong /musegenie/instrument",
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slA",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      420,
      590,
      70,
      22
     ],
     "text": "zl slice 2",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slA2",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      420,
      620,
      70,
      22
     ],
     "text": "zl slice 1",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "appA",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      420,
      650,
      100,
      22
     ],
     "text": "prepend append",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slP",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      530,
      590,
      70,
      22
     ],
     "text": "zl slice 1",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "mulP",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      530,
      620,
      50,
      22
     ],
     "text": "* 100.",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "prog",
     "maxclass": "slider",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      530,
      650,
      140,
      20
     ],
     "outlettype": [
      ""
     ],
     "orientation": 1,
     "size": 101.0
    }
   },
   {
    "box": {
     "id": "progc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      530,
      672,
      140,
      20
     ],
     "text": "progress"
    }
   },
   {
    "box": {
     "id": "slD",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      640,
      590,
      70,
      22
     ],
     "text": "zl slice 1",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "repout",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      640,
      620,
      100,
      22
     ],
     "text": "prepend replace",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "bufout",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      640,
      700,
      110,
      22
     ],
     "text": "buffer~ mg_out",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "wavout",
     "maxclass": "waveform~",
     "numinlets": 5,
     "numoutlets": 6,
     "patching_rect": [
      330,
      130,
      420,
      80
     ],
     "outlettype": [
      "",
      "",
      "",
      "",
      "",
      ""
     ],
     "buffername": "mg_out"
    }
   },
   {
    "box": {
     "id": "errset",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      760,
      590,
      80,
      22
     ],
     "text": "prepend set",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "errmsg",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      760,
      620,
      220,
      22
     ],
     "text": "",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slV",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      860,
      590,
      70,
      22
     ],
     "text": "zl slice 2",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "print",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      960,
      590,
      110,
      22
     ],
     "text": "print musegenie"
    }
   },
   {
    "box": {
     "id": "abc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      20,
      560,
      300,
      20
     ],
     "text": "A/B: play the original or the edit"
    }
   },
   {
    "box": {
     "id": "playA",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      20,
      580,
      70,
      22
     ],
     "text": "start",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "playB",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      100,
      580,
      70,
      22
     ],
     "text": "start",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "stopm",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      180,
      580,
      40,
      22
     ],
     "text": "stop",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pA",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 3,
     "patching_rect": [
      20,
      620,
      80,
      22
     ],
     "text": "play~ mg_in 2",
     "outlettype": [
      "signal",
      "signal",
      "bang"
     ]
    }
   },
   {
    "box": {
     "id": "pB",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 3,
     "patching_rect": [
      110,
      620,
      80,
      22
     ],
     "text": "play~ mg_out 2",
     "outlettype": [
      "signal",
      "signal",
      "bang"
     ]
    }
   },
   {
    "box": {
     "id": "dac",
     "maxclass": "ezdac~",
     "numinlets": 2,
     "numoutlets": 0,
     "patching_rect": [
      20,
      660,
      45,
      45
     ]
    }
   },
   {
    "box": {
     "id": "instc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      330,
      250,
      260,
      20
     ],
     "text": "who plays (pick to add; none = as it is)"
    }
   },
   {
    "box": {
     "id": "instmenu",
     "maxclass": "umenu",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      330,
      270,
      140,
      22
     ],
     "outlettype": [
      "",
      "",
      ""
     ],
     "items": []
    }
   },
   {
    "box": {
     "id": "instsel",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      480,
      270,
      160,
      22
     ],
     "text": "",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "instclrb",
     "maxclass": "textbutton",
     "numinlets": 1,
     "numoutlets": 3,
     "patching_rect": [
      650,
      270,
      60,
      22
     ],
     "text": "Clear",
     "outlettype": [
      "",
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "instclrt",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      650,
      300,
      50,
      22
     ],
     "text": "t b b",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "instset",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      650,
      330,
      30,
      22
     ],
     "text": "set",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "instzlc",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      690,
      330,
      50,
      22
     ],
     "text": "zlclear",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "instapp",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      330,
      300,
      100,
      22
     ],
     "text": "prepend append",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "join",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      20,
      480,
      80,
      22
     ],
     "text": "zl join",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "sel_i",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      230,
      380,
      30,
      22
     ],
     "text": "4",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "pri",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      500,
      480,
      170,
      22
     ],
     "text": "prepend /musegenie/instruments",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "clri",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      490,
      380,
      40,
      22
     ],
     "text": "clear",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slI",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      1000,
      590,
      70,
      22
     ],
     "text": "zl slice 2",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "appI",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      1000,
      620,
      100,
      22
     ],
     "text": "prepend append",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "closec",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      760,
      250,
      300,
      20
     ],
     "text": "closeness: 0 generates .. 1 the song's own material"
    }
   },
   {
    "box": {
     "id": "close",
     "maxclass": "flonum",
     "numinlets": 1,
     "numoutlets": 2,
     "patching_rect": [
      760,
      270,
      60,
      22
     ],
     "outlettype": [
      "",
      ""
     ],
     "minimum": 0.0,
     "maximum": 1.0
    }
   },
   {
    "box": {
     "id": "prc",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      760,
      300,
      190,
      22
     ],
     "text": "prepend /musegenie/closeness 0",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "slD2",
     "maxclass": "newobj",
     "numinlets": 2,
     "numoutlets": 2,
     "patching_rect": [
      640,
      650,
      70,
      22
     ],
     "text": "zl slice 1",
     "outlettype": [
      "",
      ""
     ]
    }
   },
   {
    "box": {
     "id": "srcset",
     "maxclass": "newobj",
     "numinlets": 1,
     "numoutlets": 1,
     "patching_rect": [
      760,
      650,
      80,
      22
     ],
     "text": "prepend set",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "srcmsg",
     "maxclass": "message",
     "numinlets": 2,
     "numoutlets": 1,
     "patching_rect": [
      760,
      680,
      220,
      22
     ],
     "text": "",
     "outlettype": [
      ""
     ]
    }
   },
   {
    "box": {
     "id": "srcc",
     "maxclass": "comment",
     "numinlets": 1,
     "numoutlets": 0,
     "patching_rect": [
      760,
      705,
      220,
      20
     ],
     "text": "where the edit's material came from"
    }
   }
  ],
  "lines": [
   {
    "patchline": {
     "source": [
      "drop",
      0
     ],
     "destination": [
      "conf",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "conf",
      0
     ],
     "destination": [
      "tpath",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tpath",
      2
     ],
     "destination": [
      "repin",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "repin",
      0
     ],
     "destination": [
      "bufin",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tpath",
      1
     ],
     "destination": [
      "pke",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tpath",
      0
     ],
     "destination": [
      "pkx",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "start",
      0
     ],
     "destination": [
      "pke",
      2
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "start",
      0
     ],
     "destination": [
      "pkx",
      2
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "end",
      0
     ],
     "destination": [
      "pke",
      3
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "end",
      0
     ],
     "destination": [
      "pkx",
      3
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "menu",
      0
     ],
     "destination": [
      "pke",
      4
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "editb",
      0
     ],
     "destination": [
      "tre",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tre",
      1
     ],
     "destination": [
      "sel_e",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tre",
      0
     ],
     "destination": [
      "cnt",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "explb",
      0
     ],
     "destination": [
      "trx",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "trx",
      1
     ],
     "destination": [
      "sel_x",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "trx",
      0
     ],
     "destination": [
      "cnt",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "refb",
      0
     ],
     "destination": [
      "tra",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "lb",
      0
     ],
     "destination": [
      "tra",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "clr",
      0
     ],
     "destination": [
      "menu",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "sel_e",
      0
     ],
     "destination": [
      "gate",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "sel_x",
      0
     ],
     "destination": [
      "gate",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "sel_a",
      0
     ],
     "destination": [
      "gate",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "cnt",
      0
     ],
     "destination": [
      "gate",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "gate",
      0
     ],
     "destination": [
      "pke",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "gate",
      1
     ],
     "destination": [
      "pkx",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "gate",
      2
     ],
     "destination": [
      "pra",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pkx",
      0
     ],
     "destination": [
      "prx",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pre",
      0
     ],
     "destination": [
      "send",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "prx",
      0
     ],
     "destination": [
      "send",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pra",
      0
     ],
     "destination": [
      "send",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "recv",
      0
     ],
     "destination": [
      "route",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "recv",
      0
     ],
     "destination": [
      "print",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      0
     ],
     "destination": [
      "slA",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slA",
      1
     ],
     "destination": [
      "slA2",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slA2",
      0
     ],
     "destination": [
      "appA",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "appA",
      0
     ],
     "destination": [
      "menu",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      1
     ],
     "destination": [
      "slP",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slP",
      1
     ],
     "destination": [
      "mulP",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "mulP",
      0
     ],
     "destination": [
      "prog",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      2
     ],
     "destination": [
      "slD",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "repout",
      0
     ],
     "destination": [
      "bufout",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      3
     ],
     "destination": [
      "errset",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "errset",
      0
     ],
     "destination": [
      "errmsg",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      4
     ],
     "destination": [
      "slV",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "playA",
      0
     ],
     "destination": [
      "pA",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "playB",
      0
     ],
     "destination": [
      "pB",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "stopm",
      0
     ],
     "destination": [
      "pA",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "stopm",
      0
     ],
     "destination": [
      "pB",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pA",
      0
     ],
     "destination": [
      "dac",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pA",
      1
     ],
     "destination": [
      "dac",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pB",
      0
     ],
     "destination": [
      "dac",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pB",
      1
     ],
     "destination": [
      "dac",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instmenu",
      1
     ],
     "destination": [
      "instapp",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instapp",
      0
     ],
     "destination": [
      "instsel",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instclrb",
      0
     ],
     "destination": [
      "instclrt",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instclrt",
      1
     ],
     "destination": [
      "instset",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instclrt",
      0
     ],
     "destination": [
      "instzlc",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instset",
      0
     ],
     "destination": [
      "instsel",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instzlc",
      0
     ],
     "destination": [
      "join",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tre",
      2
     ],
     "destination": [
      "instsel",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "instsel",
      0
     ],
     "destination": [
      "join",
      1
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pke",
      0
     ],
     "destination": [
      "join",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "join",
      0
     ],
     "destination": [
      "pre",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      5
     ],
     "destination": [
      "clr",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      4
     ],
     "destination": [
      "clri",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      3
     ],
     "destination": [
      "sel_a",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      2
     ],
     "destination": [
      "cnt",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      1
     ],
     "destination": [
      "sel_i",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "tra",
      0
     ],
     "destination": [
      "cnt",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "clri",
      0
     ],
     "destination": [
      "instmenu",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "sel_i",
      0
     ],
     "destination": [
      "gate",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "gate",
      3
     ],
     "destination": [
      "pri",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "pri",
      0
     ],
     "destination": [
      "send",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "route",
      6
     ],
     "destination": [
      "slI",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slI",
      1
     ],
     "destination": [
      "appI",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "appI",
      0
     ],
     "destination": [
      "instmenu",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slD",
      1
     ],
     "destination": [
      "slD2",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slV",
      1
     ],
     "destination": [
      "slD2",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slD2",
      0
     ],
     "destination": [
      "repout",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "slD2",
      1
     ],
     "destination": [
      "srcset",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "srcset",
      0
     ],
     "destination": [
      "srcmsg",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "close",
      0
     ],
     "destination": [
      "prc",
      0
     ]
    }
   },
   {
    "patchline": {
     "source": [
      "prc",
      0
     ],
     "destination": [
      "send",
      0
     ]
    }
   }
  ],
  "dependency_cache": [],
  "autosave": 0
 }
}
