import { Controller, Get } from '@nestjs/common';

/** Liveness: answers without touching Redis. */
@Controller('health')
export class HealthController {
  @Get()
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
