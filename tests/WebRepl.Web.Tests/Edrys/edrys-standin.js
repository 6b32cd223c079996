// A stand-in for Edrys's module library (https://edrys-labs.github.io/module/edrys.js, built from edrys-Lite's
// src/api/edrys.ts), served to the module in tests in place of the real one. It offers the same API with the
// same behaviour (README.md here says which version it follows and what it leaves out): window.Edrys with role,
// username, module, class_id, liveClass / liveUser / liveRoom, ready; onReady, onUpdate, onMessage(handler,
// promiscuous), sendMessage(subject, body, user), getState / updateState / clearState, setItem / getItem.
// Its host is harness.html, which plays the Edrys page for the module frames, over postMessage.
(function () {
  'use strict';
  const params = new URLSearchParams(location.search);
  // edrys.js calls itself ready a second after the host's first update; the harness may say otherwise.
  const readyDelayMs = Number(params.get('readyDelay') ?? 1000);

  const readyHandlers = [];
  const updateHandlers = [];
  const messageHandlers = [];
  let initialized = false;
  let batch = null; // the state changes of an updateState() under way

  const Edrys = {
    origin: null,
    ready: false,
    role: undefined,
    username: undefined,
    liveClass: undefined,
    liveRoom: undefined,
    liveUser: undefined,
    module: undefined,
    class_id: undefined,

    /** handler(Edrys), once ready: at once if it already is. */
    onReady(handler) {
      if (Edrys.ready) handler(Edrys);
      else readyHandlers.push(handler);
    },

    /** handler(Edrys) at each change of the class (users, rooms, the room's state), from the moment it is ready. */
    onUpdate(handler) {
      updateHandlers.push(handler);
    },

    /** handler({from, subject, body, module, user, date}); only this module's messages unless promiscuous. */
    onMessage(handler, promiscuous = false) {
      messageHandlers.push({ handler, promiscuous });
    },

    /**
     * To everyone in the room (this user included), or to `user` alone. A body MessagePack cannot carry is
     * dropped; before the host's first update it throws (no module URL yet), as edrys.js does.
     */
    sendMessage(subject, body, user) {
      if (typeof subject !== 'string') subject = JSON.stringify(subject);
      let packed;
      try {
        packed = pack(body);
      } catch {
        return;
      }
      parent.postMessage({ event: 'message', subject, body: packed, module: Edrys.module.url, user }, Edrys.origin || '*');
    },

    setItem(key, value) {
      localStorage.setItem(`${Edrys.class_id}.${Edrys.liveUser.room}.${key}`, value);
    },

    getItem(key) {
      return localStorage.getItem(`${Edrys.class_id}.${Edrys.liveUser.room}.${key}`);
    },

    /**
     * The room's shared state. Only the 'Value' type (plain values) is offered here; edrys.js also creates Yjs
     * types (Map, Array, Text, Xml...). Throws before the host's first update, as edrys.js does (no document yet).
     */
    getState(key, type, value) {
      const state = roomState();
      if (!key) return state;
      if (Object.prototype.hasOwnProperty.call(state, key) && (type !== 'Value' || value === undefined)) return state[key];
      if (type !== 'Value') throw new Error(`the Edrys stand-in has no '${type}' state (only 'Value')`);
      if (value === undefined) return undefined;
      if (JSON.stringify(state[key]) === JSON.stringify(value)) return state[key];
      change(key, value);
      return value;
    },

    /** Runs `callback` as one change: one update for everyone at its end. */
    updateState(callback) {
      if (batch) {
        callback();
        return;
      }
      batch = {};
      try {
        callback();
      } finally {
        const changes = batch;
        batch = null;
        if (Object.keys(changes).length > 0) commit(changes);
      }
    },

    clearState(key) {
      roomState();
      change(key, undefined);
    },
  };

  function roomState() {
    if (!initialized) throw new TypeError("Cannot read properties of undefined (reading 'getMap')");
    return Edrys.liveRoom;
  }

  function change(key, value) {
    if (batch) {
      batch[key] = value;
      apply(batch);
    } else {
      commit({ [key]: value });
    }
  }

  function apply(changes) {
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete Edrys.liveRoom[key];
      else Edrys.liveRoom[key] = value;
    }
  }

  // A change is this module's at once (edrys.js's document, whose observers call onUpdate before getState
  // returns), and goes to the host for the others.
  function commit(changes) {
    apply(changes);
    parent.postMessage({ event: 'state', room: Edrys.liveUser.room, changes: pack(changes) }, Edrys.origin || '*');
    dispatchUpdate();
  }

  function dispatchUpdate() {
    if (!Edrys.ready) return;
    for (const handler of updateHandlers) handler(Edrys);
  }

  // edrys.js packs bodies with MessagePack: objects, arrays, strings, numbers, booleans, null and bytes arrive
  // as they were sent (an ArrayBuffer as a Uint8Array); a function cannot be sent.
  function pack(value) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError('cannot pack a ' + typeof value);
    if (Array.isArray(value)) return value.map(pack);
    if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !(value instanceof Date)) {
      const out = {};
      for (const [k, v] of Object.entries(value)) out[k] = pack(v);
      return out;
    }
    return value;
  }

  function setClass(liveClass) {
    for (const [name, user] of Object.entries(liveClass.users)) user.name = name;
    Edrys.liveClass = liveClass;
    Edrys.liveUser = liveClass.users[Edrys.username];
    Edrys.liveRoom = liveClass.rooms[Edrys.liveUser.room];
  }

  function parseSettings(module) {
    for (const key of ['config', 'studentConfig', 'teacherConfig', 'stationConfig']) {
      try {
        module[key] = JSON.parse(module[key]);
      } catch {
        // not JSON text: left as it is (an object, or '' when none was given)
      }
    }
    return module;
  }

  window.addEventListener('message', (event) => {
    // edrys.js trusts the origin of the first message it gets, and only that one.
    if (!Edrys.origin) Edrys.origin = event.origin;
    else if (Edrys.origin !== event.origin) return;
    const m = event.data;
    if (!m || typeof m.event !== 'string') return;
    switch (m.event) {
      case 'update':
        Edrys.role = m.role;
        Edrys.username = m.username;
        Edrys.module = parseSettings(m.module);
        Edrys.class_id = m.class_id;
        if (m.liveClass) {
          setClass(m.liveClass);
          if (!initialized) {
            initialized = true;
            setTimeout(() => {
              Edrys.ready = true;
              if (readyHandlers.length > 0) readyHandlers.splice(0).forEach((h) => h(Edrys));
              else dispatchUpdate();
            }, readyDelayMs);
          } else {
            dispatchUpdate();
          }
        }
        break;
      case 'message': {
        const message = { from: m.from, subject: m.subject, body: m.body, module: m.module, user: m.user, date: m.date };
        for (const { handler, promiscuous } of messageHandlers) {
          if (promiscuous || m.module === Edrys.module?.url) handler(message);
        }
        break;
      }
    }
  });

  window.Edrys = Edrys;
})();
