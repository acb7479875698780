#!/usr/bin/env python3
"""Writes the seed corpus of bluez_fuzzer (tests/fuzz/corpus/bluez/): the messages BluetoothPan
really gets, encoded the way bluez_fuzzer.cpp reads its input through libFuzzer's
FuzzedDataProvider (strings from the front, each ended by a backslash and another byte;
integers and booleans one byte each from the back).

Usage: python3 tests/fuzz/bluez_seeds.py tests/fuzz/corpus/bluez
"""
import os
import sys

# bluez_fuzzer.cpp's word list, in its order.
WORDS = ["org.bluez", "", ":1.7", ":1.8", "/org/bluez/hci0", "/org/bluez/hci1", "org.bluez.Adapter1",
         "org.bluez.NetworkServer1", "/"]
S, O, G, U, B, AS, DICT, V = range(8)


class Input:
    def __init__(self):
        self.front = bytearray()
        self.back = []  # in the order consumed

    def byte(self, v):
        self.back.append(v)

    def string(self, s):
        self.front += s.encode().replace(b"\\", b"\\\\") + b"\\e"

    def word(self, s):
        if s in WORDS:
            self.byte(1)
            self.byte(WORDS.index(s))
        else:
            self.byte(0)
            self.string(s)

    def data(self):
        return bytes(self.front) + bytes(reversed(self.back))


def message(inp, values, sender=None, owner=None):
    """values: (kind, payload); sender None: no sender; owner None: the sender is BlueZ."""
    inp.byte(len(values))
    for kind, payload in values:
        inp.byte(kind)
        if kind in (S, O, G):
            inp.byte(kind)
            inp.word(payload)
        elif kind in (U, B):
            for _ in range(4 if kind == U else 1):
                inp.byte(payload & 255)
        elif kind == AS:
            inp.byte(len(payload))
            for w in payload:
                inp.word(w)
        elif kind == DICT:
            inp.byte(len(payload))
            for iface, prop, value in payload:
                inp.word(iface)
                inp.word(prop)
                inp.word(value)
        else:
            inp.word(payload)
    inp.byte(1 if sender is not None else 0)
    if sender is not None:
        inp.word(sender)
    inp.byte(1 if owner is None else 0)
    if owner is not None:
        inp.word(owner)


def error(inp, name, text, step, steps):
    if name == "org.bluez.Error.AlreadyExists":
        inp.byte(1)
    else:
        inp.byte(0)
        inp.string(name)
    inp.string(text)
    inp.byte(steps - 2)
    inp.byte(step)


SEEDS = {
    "get_name_owner_reply": ([(S, ":1.7")], None, ":1.7",
                             ("org.freedesktop.DBus.Error.NameHasNoOwner", "Could not get owner of name 'org.bluez': no such name", 0, 3)),
    "name_owner_changed_appeared": ([(S, "org.bluez"), (S, ""), (S, ":1.7")], "org.freedesktop.DBus", ":1.7",
                                    ("org.bluez.Error.AlreadyExists", "Already Exists", 2, 3)),
    "name_owner_changed_left": ([(S, "org.bluez"), (S, ":1.7"), (S, "")], "org.freedesktop.DBus", "",
                                ("org.freedesktop.DBus.Error.UnknownObject", "Unknown object '/org/bluez/hci0'", 0, 3)),
    "interfaces_added_adapter": ([(O, "/org/bluez/hci0"), (DICT, [("org.bluez.Adapter1", "Address", "00:1A:7D:DA:71:13"),
                                                                   ("org.bluez.NetworkServer1", "Powered", "")])],
                                 ":1.7", None,
                                 ("org.bluez.Error.Failed", "Not Powered", 1, 5)),
    "interfaces_removed_adapter": ([(O, "/org/bluez/hci0"), (AS, ["org.freedesktop.DBus.Properties", "org.bluez.Adapter1",
                                                                   "org.bluez.NetworkServer1"])], ":1.7", None,
                                   ("org.bluez.Error.NotReady", "Resource Not Ready", 1, 3)),
    "interfaces_removed_device": ([(O, "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF"), (AS, ["org.bluez.Device1"])], ":1.7", None,
                                  ("org.freedesktop.DBus.Error.NoReply",
                                   "Did not receive a reply. Possible causes include: the remote application did not send a "
                                   "reply, the message bus security policy blocked the reply, the reply timeout expired, or "
                                   "the network connection was broken.", 2, 4)),
    "wrong_types": ([(O, "/org/bluez/hci0"), (U, 7), (B, 1), (V, "x"), (G, "a{sv}")], ":1.8", ":1.7",
                    ("org.bluez.Error.InvalidArguments", "Ungültige Argumente — „nap“ ist bereits registriert 🙂\n\tzweite Zeile", 4, 5)),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, (values, sender, owner, err) in SEEDS.items():
        inp = Input()
        message(inp, values, sender, owner)
        error(inp, *err)
        with open(os.path.join(out, name), "wb") as f:
            f.write(inp.data())


if __name__ == "__main__":
    main()
