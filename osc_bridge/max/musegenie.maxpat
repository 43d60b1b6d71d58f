{
	"patcher": {
		"appversion": {
			"architecture": "x64",
			"major": 8,
			"minor": 6,
			"modernui": 1,
			"revision": 0
		},
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
					"text": "musegenie: drop a file (the engine indexes it at once), set the region, pick an action, Edit. Start the bridge first: make serve (OSC in 9000, replies 9001)."
				}
			},
			{
				"box": {
					"id": "drop",
					"maxclass": "dropfile",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						20,
						40,
						300,
						60
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
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						20,
						110,
						150,
						22
					],
					"text": "conformpath slash boot"
				}
			},
			{
				"box": {
					"id": "tpath",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						20,
						140,
						60,
						22
					],
					"text": "t s s s"
				}
			},
			{
				"box": {
					"id": "repin",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						200,
						180,
						100,
						22
					],
					"text": "prepend replace"
				}
			},
			{
				"box": {
					"id": "bufin",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						200,
						210,
						110,
						22
					],
					"text": "buffer~ mg_in"
				}
			},
			{
				"box": {
					"buffername": "mg_in",
					"id": "wavin",
					"maxclass": "waveform~",
					"numinlets": 5,
					"numoutlets": 6,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						330,
						40,
						420,
						80
					]
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
					"minimum": 0.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						20,
						270,
						60,
						22
					]
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
					"minimum": 0.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						90,
						270,
						60,
						22
					]
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
					"items": [],
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						160,
						270,
						160,
						22
					]
				}
			},
			{
				"box": {
					"id": "editb",
					"maxclass": "textbutton",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						20,
						310,
						80,
						24
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
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						110,
						310,
						80,
						24
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
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						200,
						310,
						120,
						24
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
					"outlettype": [
						""
					],
					"patching_rect": [
						330,
						310,
						60,
						22
					],
					"text": "loadbang"
				}
			},
			{
				"box": {
					"id": "cnt",
					"maxclass": "newobj",
					"numinlets": 5,
					"numoutlets": 4,
					"outlettype": [
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						20,
						350,
						80,
						22
					],
					"text": "counter 1 100000"
				}
			},
			{
				"box": {
					"id": "gate",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 5,
					"outlettype": [
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						20,
						410,
						60,
						22
					],
					"text": "gate 5"
				}
			},
			{
				"box": {
					"id": "sel_e",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						110,
						380,
						30,
						22
					],
					"text": "1"
				}
			},
			{
				"box": {
					"id": "sel_x",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						150,
						380,
						30,
						22
					],
					"text": "2"
				}
			},
			{
				"box": {
					"id": "sel_a",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						190,
						380,
						30,
						22
					],
					"text": "3"
				}
			},
			{
				"box": {
					"id": "sel_i",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						230,
						380,
						30,
						22
					],
					"text": "4"
				}
			},
			{
				"box": {
					"id": "tre",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						250,
						350,
						50,
						22
					],
					"text": "t b b b"
				}
			},
			{
				"box": {
					"id": "trx",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						310,
						350,
						50,
						22
					],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "tra",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 6,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						370,
						350,
						100,
						22
					],
					"text": "t b b b b b b"
				}
			},
			{
				"box": {
					"id": "pke",
					"maxclass": "newobj",
					"numinlets": 5,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						450,
						140,
						22
					],
					"text": "pack 0 s 0. 0. 0"
				}
			},
			{
				"box": {
					"id": "pkx",
					"maxclass": "newobj",
					"numinlets": 4,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						180,
						450,
						120,
						22
					],
					"text": "pack 0 s 0. 0."
				}
			},
			{
				"box": {
					"id": "join",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						20,
						480,
						80,
						22
					],
					"text": "zl join"
				}
			},
			{
				"box": {
					"id": "pre",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						505,
						140,
						22
					],
					"text": "prepend /musegenie/edit"
				}
			},
			{
				"box": {
					"id": "prx",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						180,
						480,
						150,
						22
					],
					"text": "prepend /musegenie/explore"
				}
			},
			{
				"box": {
					"id": "pra",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						340,
						480,
						150,
						22
					],
					"text": "prepend /musegenie/actions"
				}
			},
			{
				"box": {
					"id": "pri",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						500,
						480,
						170,
						22
					],
					"text": "prepend /musegenie/instruments"
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
					"outlettype": [
						""
					],
					"patching_rect": [
						420,
						520,
						110,
						22
					],
					"text": "udpreceive 9001"
				}
			},
			{
				"box": {
					"id": "route",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 8,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						420,
						550,
						560,
						22
					],
					"text": "route /musegenie/action /musegenie/progress /musegenie/done /musegenie/error /musegenie/variant /musegenie/pong /musegenie/instrument"
				}
			},
			{
				"box": {
					"id": "slP",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						530,
						590,
						70,
						22
					],
					"text": "zl slice 1"
				}
			},
			{
				"box": {
					"id": "mulP",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						530,
						620,
						50,
						22
					],
					"text": "* 100."
				}
			},
			{
				"box": {
					"id": "prog",
					"ignoreclick": 1,
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"orientation": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						530,
						650,
						140,
						20
					],
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
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						640,
						590,
						70,
						22
					],
					"text": "zl slice 1"
				}
			},
			{
				"box": {
					"id": "slV",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						860,
						590,
						70,
						22
					],
					"text": "zl slice 2"
				}
			},
			{
				"box": {
					"id": "slD2",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						640,
						650,
						70,
						22
					],
					"text": "zl slice 1"
				}
			},
			{
				"box": {
					"id": "repout",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						640,
						620,
						100,
						22
					],
					"text": "prepend replace"
				}
			},
			{
				"box": {
					"id": "bufout",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						640,
						700,
						110,
						22
					],
					"text": "buffer~ mg_out"
				}
			},
			{
				"box": {
					"buffername": "mg_out",
					"id": "wavout",
					"maxclass": "waveform~",
					"numinlets": 5,
					"numoutlets": 6,
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						""
					],
					"patching_rect": [
						330,
						130,
						420,
						80
					]
				}
			},
			{
				"box": {
					"id": "errset",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						590,
						80,
						22
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "errmsg",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						620,
						220,
						22
					],
					"text": ""
				}
			},
			{
				"box": {
					"id": "srcset",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						650,
						80,
						22
					],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "srcmsg",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						680,
						220,
						22
					],
					"text": ""
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
					"text": "where the edit's material came from; how it is heard"
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
					"outlettype": [
						""
					],
					"patching_rect": [
						20,
						580,
						70,
						22
					],
					"text": "start"
				}
			},
			{
				"box": {
					"id": "playB",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						100,
						580,
						70,
						22
					],
					"text": "start"
				}
			},
			{
				"box": {
					"id": "stopm",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						180,
						580,
						40,
						22
					],
					"text": "stop"
				}
			},
			{
				"box": {
					"id": "pA",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 3,
					"outlettype": [
						"signal",
						"signal",
						"bang"
					],
					"patching_rect": [
						20,
						620,
						80,
						22
					],
					"text": "play~ mg_in 2"
				}
			},
			{
				"box": {
					"id": "pB",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 3,
					"outlettype": [
						"signal",
						"signal",
						"bang"
					],
					"patching_rect": [
						110,
						620,
						80,
						22
					],
					"text": "play~ mg_out 2"
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
					"items": [],
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						330,
						270,
						140,
						22
					]
				}
			},
			{
				"box": {
					"id": "instsel",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						480,
						270,
						160,
						22
					],
					"text": ""
				}
			},
			{
				"box": {
					"id": "instclrb",
					"maxclass": "textbutton",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						650,
						270,
						60,
						22
					],
					"text": "Clear"
				}
			},
			{
				"box": {
					"id": "instclrt",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						650,
						300,
						50,
						22
					],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "instset",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						650,
						330,
						30,
						22
					],
					"text": "set"
				}
			},
			{
				"box": {
					"id": "instzlc",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						690,
						330,
						50,
						22
					],
					"text": "zlclear"
				}
			},
			{
				"box": {
					"id": "instapp",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						330,
						300,
						100,
						22
					],
					"text": "prepend append"
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
					"maximum": 1.0,
					"minimum": 0.0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						760,
						270,
						60,
						22
					]
				}
			},
			{
				"box": {
					"id": "prc",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						300,
						190,
						22
					],
					"text": "prepend /musegenie/closeness 0"
				}
			},
			{
				"box": {
					"id": "takec",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						760,
						330,
						300,
						20
					],
					"text": "take: another number, another take of the same edit"
				}
			},
			{
				"box": {
					"id": "take",
					"maxclass": "number",
					"maximum": 9999,
					"minimum": 0,
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"bang"
					],
					"patching_rect": [
						760,
						350,
						60,
						22
					]
				}
			},
			{
				"box": {
					"id": "prt",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						760,
						380,
						160,
						22
					],
					"text": "prepend /musegenie/seed 0"
				}
			},
			{
				"box": {
					"id": "tprep",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						180,
						110,
						40,
						22
					],
					"text": "t b s"
				}
			},
			{
				"box": {
					"id": "trp",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						490,
						350,
						50,
						22
					],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "sel_p",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						270,
						380,
						30,
						22
					],
					"text": "5"
				}
			},
			{
				"box": {
					"id": "pkp",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						680,
						450,
						70,
						22
					],
					"text": "pack 0 s"
				}
			},
			{
				"box": {
					"id": "prp",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						680,
						480,
						160,
						22
					],
					"text": "prepend /musegenie/prepare"
				}
			},
			{
				"box": {
					"id": "clr",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						440,
						380,
						40,
						22
					],
					"text": "clear"
				}
			},
			{
				"box": {
					"id": "clri",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						490,
						380,
						40,
						22
					],
					"text": "clear"
				}
			},
			{
				"box": {
					"id": "slA",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						420,
						590,
						70,
						22
					],
					"text": "zl slice 2"
				}
			},
			{
				"box": {
					"id": "slA2",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						420,
						620,
						70,
						22
					],
					"text": "zl slice 1"
				}
			},
			{
				"box": {
					"id": "appA",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						420,
						650,
						100,
						22
					],
					"text": "prepend append"
				}
			},
			{
				"box": {
					"id": "slI",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						1000,
						590,
						70,
						22
					],
					"text": "zl slice 2"
				}
			},
			{
				"box": {
					"id": "appI",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1000,
						620,
						100,
						22
					],
					"text": "prepend append"
				}
			}
		],
		"classnamespace": "box",
		"default_fontname": "Arial",
		"default_fontsize": 12.0,
		"description": "",
		"devicewidth": 0.0,
		"fileversion": 1,
		"gridonopen": 1,
		"gridsize": [
			15.0,
			15.0
		],
		"lines": [
			{
				"patchline": {
					"destination": [
						"tpath",
						0
					],
					"source": [
						"conf",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"repin",
						0
					],
					"source": [
						"tpath",
						2
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"bufin",
						0
					],
					"source": [
						"repin",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pke",
						1
					],
					"source": [
						"tpath",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkx",
						1
					],
					"source": [
						"tpath",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pke",
						2
					],
					"source": [
						"start",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkx",
						2
					],
					"source": [
						"start",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pke",
						3
					],
					"source": [
						"end",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkx",
						3
					],
					"source": [
						"end",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pke",
						4
					],
					"source": [
						"menu",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"tre",
						0
					],
					"source": [
						"editb",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"sel_e",
						0
					],
					"source": [
						"tre",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"cnt",
						0
					],
					"source": [
						"tre",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instsel",
						0
					],
					"source": [
						"tre",
						2
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"trx",
						0
					],
					"source": [
						"explb",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"sel_x",
						0
					],
					"source": [
						"trx",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"cnt",
						0
					],
					"source": [
						"trx",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"tra",
						0
					],
					"source": [
						"refb",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						0
					],
					"source": [
						"sel_e",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						0
					],
					"source": [
						"sel_x",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						0
					],
					"source": [
						"sel_a",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						0
					],
					"source": [
						"sel_i",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						1
					],
					"source": [
						"cnt",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pke",
						0
					],
					"source": [
						"gate",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkx",
						0
					],
					"source": [
						"gate",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pra",
						0
					],
					"source": [
						"gate",
						2
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pri",
						0
					],
					"source": [
						"gate",
						3
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"join",
						0
					],
					"source": [
						"pke",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pre",
						0
					],
					"source": [
						"join",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"prx",
						0
					],
					"source": [
						"pkx",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"pre",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"prx",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"pra",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"pri",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"route",
						0
					],
					"source": [
						"recv",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"print",
						0
					],
					"source": [
						"recv",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slP",
						0
					],
					"source": [
						"route",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"mulP",
						0
					],
					"source": [
						"slP",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"prog",
						0
					],
					"source": [
						"mulP",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slD",
						0
					],
					"source": [
						"route",
						2
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"errset",
						0
					],
					"source": [
						"route",
						3
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"errmsg",
						0
					],
					"source": [
						"errset",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slV",
						0
					],
					"source": [
						"route",
						4
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slD2",
						0
					],
					"source": [
						"slD",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slD2",
						0
					],
					"source": [
						"slV",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"repout",
						0
					],
					"source": [
						"slD2",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"bufout",
						0
					],
					"source": [
						"repout",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"srcset",
						0
					],
					"source": [
						"slD2",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"srcmsg",
						0
					],
					"source": [
						"srcset",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pA",
						0
					],
					"source": [
						"playA",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pB",
						0
					],
					"source": [
						"playB",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pA",
						0
					],
					"source": [
						"stopm",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pB",
						0
					],
					"source": [
						"stopm",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instapp",
						0
					],
					"source": [
						"instmenu",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instsel",
						0
					],
					"source": [
						"instapp",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instclrt",
						0
					],
					"source": [
						"instclrb",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instset",
						0
					],
					"source": [
						"instclrt",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instzlc",
						0
					],
					"source": [
						"instclrt",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instsel",
						0
					],
					"source": [
						"instset",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"join",
						1
					],
					"source": [
						"instzlc",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"join",
						1
					],
					"source": [
						"instsel",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"prc",
						0
					],
					"source": [
						"close",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"prc",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"prt",
						0
					],
					"source": [
						"take",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"prt",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"cnt",
						0
					],
					"source": [
						"tra",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"sel_i",
						0
					],
					"source": [
						"tra",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"cnt",
						0
					],
					"source": [
						"tra",
						2
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"sel_a",
						0
					],
					"source": [
						"tra",
						3
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"conf",
						0
					],
					"source": [
						"drop",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"tprep",
						0
					],
					"source": [
						"conf",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkp",
						1
					],
					"source": [
						"tprep",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"trp",
						0
					],
					"source": [
						"tprep",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"sel_p",
						0
					],
					"source": [
						"trp",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"gate",
						0
					],
					"source": [
						"sel_p",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"cnt",
						0
					],
					"source": [
						"trp",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"pkp",
						0
					],
					"source": [
						"gate",
						4
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"prp",
						0
					],
					"source": [
						"pkp",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"send",
						0
					],
					"source": [
						"prp",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"tra",
						0
					],
					"source": [
						"lb",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"clri",
						0
					],
					"source": [
						"tra",
						4
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"clr",
						0
					],
					"source": [
						"tra",
						5
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"menu",
						0
					],
					"source": [
						"clr",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instmenu",
						0
					],
					"source": [
						"clri",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slA",
						0
					],
					"source": [
						"route",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slA2",
						0
					],
					"source": [
						"slA",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"appA",
						0
					],
					"source": [
						"slA2",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"menu",
						0
					],
					"source": [
						"appA",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"slI",
						0
					],
					"source": [
						"route",
						6
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"appI",
						0
					],
					"source": [
						"slI",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"instmenu",
						0
					],
					"source": [
						"appI",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"dac",
						0
					],
					"source": [
						"pA",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"dac",
						1
					],
					"source": [
						"pA",
						1
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"dac",
						0
					],
					"source": [
						"pB",
						0
					]
				}
			},
			{
				"patchline": {
					"destination": [
						"dac",
						1
					],
					"source": [
						"pB",
						1
					]
				}
			}
		],
		"openinpresentation": 0,
		"rect": [
			80.0,
			80.0,
			1100.0,
			760.0
		]
	}
}
