import sys, time, zerorpc
c = zerorpc.Client(heartbeat=float(sys.argv[2]), timeout=60)
c.connect(sys.argv[1])
t = time.time()
try:
    print('python client got', c.slow(float(sys.argv[3])), 'in %.1fs' % (time.time() - t), flush=True)
except Exception as e:
    print('python client failed', type(e).__name__, e, 'after %.1fs' % (time.time() - t), flush=True)
