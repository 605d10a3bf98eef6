// Decorator metadata must exist before any Nest class is evaluated; importing it here keeps every suite honest.
import 'reflect-metadata';
