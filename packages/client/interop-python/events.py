# zerorpc-python's one-way events, for events.ts (see README.md).
#   events.py push ENDPOINT       a Pusher connects and pushes the events below
#   events.py pull ENDPOINT       a Puller binds and prints each event it runs
#   events.py publish ENDPOINT    a Publisher binds, publishes `probe` until stdin says go, then the events
#   events.py subscribe ENDPOINT  a Subscriber connects and prints each event it runs
# Every line printed is JSON. The puller and subscriber stop at the event `done`.
import json, sys, gevent, zerorpc

mode, endpoint = sys.argv[1], sys.argv[2]

def show(x):
    if isinstance(x, bytes):
        return {'$bin': x.hex()}
    if isinstance(x, float):
        return {'$float': repr(x)}
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) > 2 ** 53:
        return {'$int': str(x)}
    if isinstance(x, dict):
        return {str(k): show(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [show(v) for v in x]
    return x

def say(**line):
    print(json.dumps(line), flush=True)

class TaskContext(object):
    """The task context the way a zerorpc middleware carries it (a trace id, say)."""
    loaded = {}
    def load_task_context(self, header):
        TaskContext.loaded = {k: v for k, v in header.items() if k not in ('message_id', 'v')}
    def get_task_context(self):
        return {'trace_id': 'from-python'}

zerorpc.Context.get_instance().register_middleware(TaskContext())

class Handlers(object):
    def ticket_created(self, id, title):
        say(ran='ticket_created', args=show([id, title]), context=show(TaskContext.loaded))
    def echo(self, *args):
        say(ran='echo', args=show(list(args)), context=show(TaskContext.loaded))
    def probe(self):
        say(ran='probe')
    def boom(self):
        raise ValueError('boom')
    def done(self):
        say(ran='done')
        gevent.spawn_later(0.1, sys.exit, 0)

EVENTS = [
    ('ticket_created', (42, 'printer on fire')),
    ('echo', ({'a': [1, 2.5, None]}, b'\x00\xff', 2 ** 63)),
    ('nope', ()),
    ('boom', ()),
    ('ticket_created', (43, 'after errors')),
]

if mode in ('pull', 'subscribe'):
    receiver = zerorpc.Puller(Handlers()) if mode == 'pull' else zerorpc.Subscriber(Handlers())
    (receiver.bind if mode == 'pull' else receiver.connect)(endpoint)
    say(ready=True)
    try:
        receiver.run()
    except SystemExit:
        pass
elif mode == 'push':
    pusher = zerorpc.Pusher()
    pusher.connect(endpoint)
    for name, args in EVENTS + [('done', ())]:
        pusher(name, *args)
    gevent.sleep(0.5)  # let the sender task hand them to ZeroMQ
    say(pushed=len(EVENTS) + 1)
elif mode == 'publish':
    publisher = zerorpc.Publisher()
    publisher.bind(endpoint)
    go = gevent.event.Event()
    def wait_for_go():
        gevent.get_hub().threadpool.spawn(sys.stdin.readline).get()
        go.set()
    gevent.spawn(wait_for_go)
    say(ready=True)
    while not go.wait(0.05):
        publisher.probe()
    for name, args in EVENTS + [('done', ())]:
        publisher(name, *args)
    gevent.sleep(0.5)
    say(published=len(EVENTS) + 1)
