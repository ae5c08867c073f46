//! OTLP metrics ingest: conversion to Prometheus series per the OpenTelemetry compatibility spec.
