// Integration tests: the Temporal SDK logs only errors (installed once per test file's process).
import pino from 'pino';
import { installTemporalRuntime } from '../../worker/temporal-runtime';

installTemporalRuntime(pino({ level: 'error' }), 'ERROR');
