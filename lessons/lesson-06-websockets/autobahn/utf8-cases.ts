/**
 * Group 6 of Autobahn|Testsuite: text messages that must be valid UTF-8 (RFC 6455 §8.1, §5.6).
 * 6.1 to 6.4 are written out; 6.5 to 6.23 come from Markus Kuhn's UTF-8 decoder stress test
 * (UTF-8-test.txt), as Autobahn builds them: each sequence is sent as one text message, and
 * either comes back as sent, or the server fails the connection with 1007.
 */
import {
  CLEAN_NORMAL_CLOSE,
  CONTINUATION,
  hex,
  INVALID_PAYLOAD,
  message,
  TEXT,
  timeout,
  utf8,
  type AutobahnCase,
  type ExpectedClose,
} from "./table.ts";

const REFUSED_AS_INVALID: ExpectedClose = {
  closedByMe: false,
  codes: [INVALID_PAYLOAD],
  requireClean: false,
  wrongEndpointIsFatal: true,
};

// κόσμε, the Greek word the stress test opens with.
const KOSME = "cebae1bdb9cf83cebcceb5";

/** Bytes from..to-1, each followed by `after` if given (the stress test's lonely start bytes). */
function run(from: number, to: number, after?: number): string {
  let out = "";
  for (let byte = from; byte < to; byte++) {
    out += byte.toString(16).padStart(2, "0") + (after === undefined ? "" : after.toString(16));
  }
  return out;
}

/** Non-characters U+FFFE, U+FFFF and U+nFFFE, U+nFFFF of every plane: valid UTF-8 all the same. */
function nonCharacters(): string[] {
  const out = ["efbfbe", "efbfbf"];
  for (const z1 of ["f0", "f1", "f2", "f3", "f4"]) {
    for (const z2 of ["8f", "9f", "af", "bf"]) {
      if (z1 === "f4" && z2 !== "8f") continue; // beyond U+10FFFF
      for (const z3 of ["be", "bf"]) {
        const bytes = z1 + z2 + "bf" + z3;
        if (bytes !== "f08fbfbe" && bytes !== "f08fbfbf") out.push(bytes); // overlong
      }
    }
  }
  return out;
}

const MISSING_LAST = [
  "c0",
  "e080",
  "f08080",
  "f8808080",
  "fc80808080",
  "df",
  "efbf",
  "f7bfbf",
  "fbbfbfbf",
  "fdbfbfbf",
];

/** [valid, hex] per sequence, one list per subcategory 6.5 to 6.23, in Autobahn's order. */
const SEQUENCES: [title: string, sequences: [boolean, string][]][] = [
  [
    "Some valid UTF-8 sequences",
    [
      [true, "68656c6c6f24776f726c64"],
      [true, "68656c6c6fc2a2776f726c64"],
      [true, "68656c6c6fe282ac776f726c64"],
      [true, "68656c6c6ff0a4ada2776f726c64"],
      [true, KOSME],
    ],
  ],
  // A prefix is valid when it ends on a code point: after 2, 5, 7, 9 and 11 bytes.
  [
    "All prefixes of a valid UTF-8 string that contains multi-byte code points",
    Array.from({ length: 11 }, (_, i) => [
      [2, 5, 7, 9, 11].includes(i + 1),
      KOSME.slice(0, 2 * (i + 1)),
    ]),
  ],
  [
    "First possible sequence of a certain length",
    [
      [true, "00"],
      [true, "c280"],
      [true, "e0a080"],
      [true, "f0908080"],
    ],
  ],
  [
    "First possible sequence length 5/6 (invalid codepoints)",
    [
      [false, "f888808080"],
      [false, "fc8480808080"],
    ],
  ],
  [
    "Last possible sequence of a certain length",
    [
      [true, "7f"],
      [true, "dfbf"],
      [true, "efbfbf"],
      [true, "f48fbfbf"],
    ],
  ],
  [
    "Last possible sequence length 4/5/6 (invalid codepoints)",
    [
      [false, "f7bfbfbf"],
      [false, "fbbfbfbfbf"],
      [false, "fdbfbfbfbfbf"],
    ],
  ],
  [
    "Other boundary conditions",
    [
      [true, "ed9fbf"],
      [true, "ee8080"],
      [true, "efbfbd"],
      [true, "f48fbfbf"],
      [false, "f4908080"],
    ],
  ],
  [
    "Unexpected continuation bytes",
    [
      [false, "80"],
      [false, "bf"],
      [false, "80bf"],
      [false, "80bf80"],
      [false, "80bf80bf"],
      [false, "80bf80bf80"],
      [false, "80bf80bf80bf"],
      [false, run(0x80, 0xbf)],
    ],
  ],
  [
    "Lonely start characters",
    [
      [false, run(0xc0, 0xdf, 0x20)],
      [false, run(0xe0, 0xef, 0x20)],
      [false, run(0xf0, 0xf7, 0x20)],
      [false, run(0xf8, 0xfb, 0x20)],
      [false, run(0xfc, 0xfd, 0x20)],
    ],
  ],
  ["Sequences with last continuation byte missing", MISSING_LAST.map((s) => [false, s])],
  ["Concatenation of incomplete sequences", [[false, MISSING_LAST.join("")]]],
  [
    "Impossible bytes",
    [
      [false, "fe"],
      [false, "ff"],
      [false, "fefeffff"],
    ],
  ],
  [
    "Examples of an overlong ASCII character",
    [
      [false, "c0af"],
      [false, "e080af"],
      [false, "f08080af"],
      [false, "f8808080af"],
      [false, "fc80808080af"],
    ],
  ],
  [
    "Maximum overlong sequences",
    [
      [false, "c1bf"],
      [false, "e09fbf"],
      [false, "f08fbfbf"],
      [false, "f887bfbfbf"],
      [false, "fc83bfbfbfbf"],
    ],
  ],
  [
    "Overlong representation of the NUL character",
    [
      [false, "c080"],
      [false, "e08080"],
      [false, "f0808080"],
      [false, "f880808080"],
      [false, "fc8080808080"],
    ],
  ],
  [
    "Single UTF-16 surrogates",
    [
      [false, "eda080"],
      [false, "edadbf"],
      [false, "edae80"],
      [false, "edafbf"],
      [false, "edb080"],
      [false, "edbe80"],
      [false, "edbfbf"],
    ],
  ],
  [
    "Paired UTF-16 surrogates",
    [
      [false, "eda080edb080"],
      [false, "eda080edbfbf"],
      [false, "edadbfedb080"],
      [false, "edadbfedbfbf"],
      [false, "edae80edb080"],
      [false, "edae80edbfbf"],
      [false, "edafbfedb080"],
      [false, "edafbfedbfbf"],
    ],
  ],
  ["Non-character code points (valid UTF-8)", nonCharacters().map((s) => [true, s])],
  [
    "Unicode specials (i.e. replacement char)",
    [
      [true, "efbfb9"],
      [true, "efbfba"],
      [true, "efbfbb"],
      [true, "efbfbc"],
      [true, "efbfbd"],
      [true, "efbfbe"],
      [true, "efbfbf"],
    ],
  ],
];

const ECHOED = "The message is echo'ed back to us.";
const FAILED_AT_ONCE =
  "The connection is failed immediately, since the payload is not valid UTF-8.";
const FAIL_FAST =
  "The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.";
const PAYLOAD = hex("cebae1bdb9cf83cebcceb5f4908080656469746564"); // invalid at byte 12: 0x110000

function echo(
  id: string,
  description: string,
  steps: AutobahnCase["steps"],
  payload: Buffer,
): AutobahnCase {
  return {
    id,
    description,
    expectation: ECHOED,
    steps,
    expected: { OK: [message(payload)] },
    close: CLEAN_NORMAL_CLOSE,
    deadline: { after: "close", ms: 1_000 },
  };
}

/**
 * The payload in three parts, cut at `first` and `second`, with a pause after each of the first
 * two: the second part makes it invalid, and the server should fail the connection as soon as it
 * has that part, or at least once the message is whole.
 */
function failFast(
  id: string,
  description: string,
  [first, second]: [number, number],
  inFrames: boolean,
): AutobahnCase {
  const parts = [
    PAYLOAD.subarray(0, first),
    PAYLOAD.subarray(first, second),
    PAYLOAD.subarray(second),
  ];
  const steps: AutobahnCase["steps"] = inFrames
    ? [
        { frame: { opcode: TEXT, fin: false, payload: parts[0] } },
        { pause: "A" },
        { frame: { opcode: CONTINUATION, fin: false, payload: parts[1] } },
        { pause: "B" },
        { frame: { opcode: CONTINUATION, fin: true, payload: parts[2] } },
      ]
    : [
        {
          frame: { opcode: TEXT, payload: PAYLOAD },
          pauses: [
            { at: first, tag: "A" },
            { at: second, tag: "B" },
          ],
        },
      ];
  return {
    id,
    description,
    expectation: FAIL_FAST,
    steps,
    expected: { OK: [timeout("A")], "NON-STRICT": [timeout("A"), timeout("B")] },
    close: REFUSED_AS_INVALID,
    deadline: { after: "kill", ms: 1_000 },
  };
}

export function utf8Cases(): AutobahnCase[] {
  const hello = utf8("Hello-µ@ßöäüàá-UTF-8!!");
  const kosme = hex(KOSME);
  const invalid = hex(KOSME + "eda080" + "656469746564");
  const oneByOne = (payload: Buffer): AutobahnCase["steps"] => [
    { message: payload, fragmentSize: 1 },
  ];
  const cases: AutobahnCase[] = [
    echo("6.1.1", "Send text message of length 0.", [{ frame: { opcode: TEXT } }], Buffer.alloc(0)),
    echo(
      "6.1.2",
      "Send fragmented text message, 3 fragments each of length 0.",
      [
        { frame: { opcode: TEXT, fin: false } },
        { frame: { opcode: CONTINUATION, fin: false } },
        { frame: { opcode: CONTINUATION } },
      ],
      Buffer.alloc(0),
    ),
    echo(
      "6.1.3",
      "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
      [
        { frame: { opcode: TEXT, fin: false } },
        { frame: { opcode: CONTINUATION, fin: false, payload: utf8("middle frame payload") } },
        { frame: { opcode: CONTINUATION } },
      ],
      utf8("middle frame payload"),
    ),
    echo("6.2.1", "Send a valid UTF-8 text message in one fragment.", [{ message: hello }], hello),
    echo(
      "6.2.2",
      "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.",
      [
        { frame: { opcode: TEXT, fin: false, payload: utf8("Hello-µ@ßöä") } },
        { frame: { opcode: CONTINUATION, payload: utf8("üàá-UTF-8!!") } },
      ],
      hello,
    ),
    echo(
      "6.2.3",
      "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
      oneByOne(hello),
      hello,
    ),
    echo(
      "6.2.4",
      "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
      oneByOne(kosme),
      kosme,
    ),
    ...[
      ["6.3.1", "Send invalid UTF-8 text message unfragmented.", [{ message: invalid }]],
      [
        "6.3.2",
        "Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.",
        oneByOne(invalid),
      ],
    ].map(([id, description, steps]): AutobahnCase => ({
      id: id as string,
      description: description as string,
      expectation: FAILED_AT_ONCE,
      steps: steps as AutobahnCase["steps"],
      expected: { OK: [] },
      close: REFUSED_AS_INVALID,
      deadline: { after: "kill", ms: 1_000 },
    })),
    failFast(
      "6.4.1",
      "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.",
      [11, 15],
      true,
    ),
    failFast(
      "6.4.2",
      "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.",
      [12, 13],
      true,
    ),
    failFast(
      "6.4.3",
      "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.",
      [11, 15],
      false,
    ),
    failFast(
      "6.4.4",
      "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.",
      [12, 13],
      false,
    ),
  ];
  SEQUENCES.forEach(([, sequences], i) => {
    sequences.forEach(([valid, digits], j) => {
      const payload = hex(digits);
      const id = `6.${i + 5}.${j + 1}`;
      const description = `Send a text message with payload which is ${valid ? "valid" : "not valid"} UTF-8 in one fragment. Payload: 0x${digits}`;
      cases.push(
        valid
          ? {
              ...echo(id, description, [{ message: payload }], payload),
              deadline: { after: "kill", ms: 500 },
            }
          : {
              id,
              description,
              expectation: FAILED_AT_ONCE,
              steps: [{ message: payload }],
              expected: { OK: [] },
              close: REFUSED_AS_INVALID,
              deadline: { after: "kill", ms: 500 },
            },
      );
    });
  });
  return cases;
}

/** The stress test's subcategory titles, "6.5" to "6.23", for the score's listing. */
export const UTF8_SUBCATEGORIES: ReadonlyMap<string, string> = new Map(
  SEQUENCES.map(([title], i) => [`6.${i + 5}`, title]),
);
