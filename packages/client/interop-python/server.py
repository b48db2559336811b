import sys, gevent, zerorpc
class Api(object):
    def slow(self, secs):
        gevent.sleep(secs)
        return 'slept %s' % secs
s = zerorpc.Server(Api(), heartbeat=float(sys.argv[2]))
s.bind(sys.argv[1])
print('ready', flush=True)
s.run()
