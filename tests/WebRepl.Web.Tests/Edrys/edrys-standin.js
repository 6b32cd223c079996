// A stand-in for Edrys's edrys.js, served to the module in tests in place of the real one: the same API
// (Edrys.role, onReady, onMessage, sendMessage, getState, liveClass...), carried over postMessage to
// harness.html, which plays the Edrys host for two module frames (a station and a student).
(function () {
  const params = new URLSearchParams(location.search);
  const role = params.get('role') || 'student';
  const name = params.get('name') || role;
  const display = params.get('display') || name;
  const handlers = { ready: [], update: [], message: [] };
  const Edrys = {
    ready: false,
    role,
    username: name,
    liveUser: { name, displayName: display, room: 'Station 1' },
    module: { stationConfig: {} },
    liveRoom: {},
    liveClass: { users: {} },
    onReady(handler) { if (Edrys.ready) handler(); else handlers.ready.push(handler); },
    onUpdate(handler) { handlers.update.push(handler); },
    onMessage(handler) { handlers.message.push(handler); },
    sendMessage(subject, body) { parent.postMessage({ edrys: 'send', from: name, subject, body }, '*'); },
    getState(key, type, value) {
      if (arguments.length >= 3) {
        Edrys.liveRoom[key] = value;
        parent.postMessage({ edrys: 'state', key, value }, '*');
        return value;
      }
      return Edrys.liveRoom[key];
    },
    updateState(change) { change(); },
  };
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || !m.edrys) return;
    if (m.edrys === 'init') {
      Edrys.module = m.module;
      Edrys.liveRoom = Object.assign({}, m.room);
      Edrys.liveClass = m.liveClass;
      Edrys.ready = true;
      handlers.ready.splice(0).forEach((h) => h());
    } else if (m.edrys === 'message') {
      handlers.message.forEach((h) => h({ from: m.from, subject: m.subject, body: m.body }));
    } else if (m.edrys === 'update') {
      Edrys.liveRoom = Object.assign({}, m.room);
      Edrys.liveClass = m.liveClass;
      handlers.update.forEach((h) => h());
    }
  });
  window.Edrys = Edrys;
  parent.postMessage({ edrys: 'hello', name, role }, '*');
})();
